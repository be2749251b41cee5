import { proxyActivities } from '@temporalio/workflow'
import type { ElectionActivities } from '../activities/index.ts'

const { reconcileElection } = proxyActivities<ElectionActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
})

/**
 * The batch side of the hybrid: started by a Temporal Schedule every N seconds while an
 * election is open. Recounts from the raw ballots, compares, repairs, reports.
 */
export async function reconcileWorkflow(electionId: string) {
  return reconcileElection(electionId, { final: false })
}
