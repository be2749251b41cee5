import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client'
import type { ActivityDeps } from './deps.ts'

export const reconcileScheduleId = (electionId: string) => `reconcile-${electionId}`

export function createScheduleActivities({ temporal, taskQueue }: ActivityDeps) {
  return {
    /** A Temporal Schedule that starts `reconcileWorkflow` every N seconds while the election is open. */
    async scheduleReconciliation(electionId: string, everySeconds: number): Promise<void> {
      try {
        await temporal.schedule.create({
          scheduleId: reconcileScheduleId(electionId),
          spec: { intervals: [{ every: `${everySeconds}s` }] },
          action: {
            type: 'startWorkflow',
            workflowType: 'reconcileWorkflow',
            args: [electionId],
            taskQueue,
            workflowId: `reconcile-${electionId}`,
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
          memo: { electionId },
        })
      } catch (err) {
        // A retried activity finds the schedule it already made.
        if ((err as Error).name !== 'ScheduleAlreadyRunning') throw err
      }
    },

    async unscheduleReconciliation(electionId: string): Promise<void> {
      try {
        await temporal.schedule.getHandle(reconcileScheduleId(electionId)).delete()
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err
      }
    },
  }
}
