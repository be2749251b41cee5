import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client'
import { AppError } from '../domain/errors.ts'

/** The audit workflow's id: one workflow per audit. */
export const auditWorkflowId = (auditId: string) => `audit-${auditId}`

/** Starting a risk-limiting audit means starting its workflow (workflows/audit.ts); this is the one place that does. */
export function auditControl(client: Client, taskQueue: string) {
  return {
    async start(auditId: string): Promise<{ workflowId: string }> {
      const workflowId = auditWorkflowId(auditId)
      try {
        await client.workflow.start('auditWorkflow', { taskQueue, workflowId, args: [{ auditId }] })
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new AppError('conflict', `audit ${auditId} is already running`)
        throw err
      }
      return { workflowId }
    },
  }
}
export type AuditControl = ReturnType<typeof auditControl>
