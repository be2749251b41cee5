import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client'
import { AppError } from '../domain/errors.ts'

/** The audit workflow's id: one workflow per audit. */
export const auditWorkflowId = (auditId: string) => `audit-${auditId}`

/** Starting a risk-limiting audit means starting its workflow (workflows/audit.ts); this is the one place that does. */
export function auditControl(client: Client, taskQueue: string) {
  return {
    async start(auditId: string, papers: 'simulator' | 'board' = 'simulator'): Promise<{ workflowId: string }> {
      const workflowId = auditWorkflowId(auditId)
      try {
        await client.workflow.start('auditWorkflow', {
          taskQueue,
          workflowId,
          args: [papers === 'board' ? { auditId, papers } : { auditId }],
        })
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new AppError('conflict', `audit ${auditId} is already running`)
        throw err
      }
      return { workflowId }
    },

    /**
     * Asks an audit's workflow to stop: it ends the audit as failed (workflows/audit.ts), the
     * one writer of its status. False when there is no such workflow running.
     */
    async cancel(auditId: string): Promise<boolean> {
      const handle = client.workflow.getHandle(auditWorkflowId(auditId))
      try {
        const { status } = await handle.describe()
        if (status.name !== 'RUNNING') return false
        await handle.cancel()
        return true
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false
        throw err
      }
    },

    /**
     * Tells an audit's workflow that a board entered papers (or its hand count): it looks
     * now rather than at its next five-minute check. Best effort: what was entered is in
     * the database already, and the workflow finds it either way.
     */
    async nudge(auditId: string): Promise<boolean> {
      try {
        await client.workflow.getHandle(auditWorkflowId(auditId)).signal('papersEntered')
        return true
      } catch {
        return false
      }
    },
  }
}
export type AuditControl = ReturnType<typeof auditControl>
