import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client'
import { AppError } from '../domain/errors.ts'
import {
  ELECTION_WORKFLOW_TYPE,
  type ElectionProgress,
  type ElectionWorkflow,
  type ElectionWorkflowInput,
  electionIdKey,
  electionStatusKey,
  pauseSignal,
  progressQuery,
  recheckCertificationSignal,
  resumeSignal,
  setRateUpdate,
  stopSignal,
} from './election-workflow-contract.ts'

export const electionWorkflowId = (electionId: string) => `election-${electionId}`

export async function connectTemporal(options: { address: string; namespace: string }) {
  const connection = await Connection.connect({ address: options.address })
  return { client: new Client({ connection, namespace: options.namespace }), close: () => connection.close() }
}

/** Steering an election means talking to its workflow; this is the one place that does. */
export function electionControl(client: Client, taskQueue: string) {
  const handle = (electionId: string) => client.workflow.getHandle<ElectionWorkflow>(electionWorkflowId(electionId))
  const notRunning = (electionId: string, err: unknown): never => {
    if (err instanceof WorkflowNotFoundError) throw new AppError('conflict', `election ${electionId} has no running workflow`)
    throw err
  }
  return {
    async start(input: ElectionWorkflowInput) {
      await client.workflow.start<ElectionWorkflow>(ELECTION_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: electionWorkflowId(input.electionId),
        args: [input],
        typedSearchAttributes: [
          { key: electionIdKey, value: input.electionId },
          { key: electionStatusKey, value: 'open' },
        ],
      })
    },
    async pause(electionId: string) {
      await handle(electionId)
        .signal(pauseSignal)
        .catch((e) => notRunning(electionId, e))
    },
    async resume(electionId: string) {
      await handle(electionId)
        .signal(resumeSignal)
        .catch((e) => notRunning(electionId, e))
    },
    async stop(electionId: string) {
      await handle(electionId)
        .signal(stopSignal)
        .catch((e) => notRunning(electionId, e))
    },
    async recheckCertification(electionId: string) {
      await handle(electionId)
        .signal(recheckCertificationSignal)
        .catch((e) => notRunning(electionId, e))
    },
    async setRate(electionId: string, rate: number): Promise<number> {
      try {
        return await handle(electionId).executeUpdate(setRateUpdate, { args: [rate] })
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) notRunning(electionId, err)
        const message = (err as { cause?: { message?: string } }).cause?.message
        throw new AppError('conflict', message ?? `could not set the rate of ${electionId}`)
      }
    },
    /** The workflow's progress, or null when it is not running (finished or never started). */
    async progress(electionId: string): Promise<ElectionProgress | null> {
      try {
        return await handle(electionId).query(progressQuery)
      } catch {
        return null
      }
    },
  }
}
export type ElectionControl = ReturnType<typeof electionControl>
