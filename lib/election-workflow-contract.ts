/**
 * What a client and the election workflow (workflows/election.ts) agree on: its type name,
 * input and outcome, its signals, query and update, and the search attributes it sets.
 * Both sides import this one definition, as the Temporal SDK recommends: the client
 * (lib/temporal.ts) without importing the workflow, the workflow without importing the
 * client.
 *
 * It is bundled into the workflow sandbox, so it stays deterministic: definitions and types
 * only, no I/O and no Node module. `defineSignal`, `defineQuery` and `defineUpdate` only
 * name a handler and may be imported outside a workflow.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common'
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow'
import type { ElectionProgress, ElectionState } from '../domain/progress.ts'

export type { ElectionProgress, ElectionState }

/** The workflow's type name: the name of its function in workflows/election.ts. */
export const ELECTION_WORKFLOW_TYPE = 'electionWorkflow'

export interface ElectionWorkflowInput {
  electionId: string
  /** Present for a simulated election: the generator produces its ballots. */
  simulation?: { ratePerSecond: number; chunkSeconds?: number }
  reconcileEverySeconds?: number
  /** Continue-as-new once the history has this many events (Temporal's own hint also counts). */
  maxHistoryEvents?: number
  /** State handed over by continue-as-new. */
  carried?: ElectionState
}

export interface ElectionOutcome {
  electionId: string
  produced: number
  counted: number
  rejected: number
  reconciliation: 'match' | 'repaired'
  runs: number
}

/** The workflow's signature, for typed handles: `workflows/election.ts` implements it. */
export type ElectionWorkflow = (input: ElectionWorkflowInput) => Promise<ElectionOutcome>

export const pauseSignal = defineSignal('pause')
export const resumeSignal = defineSignal('resume')
/** Closes the polls early (or, for a live election, at all). */
export const stopSignal = defineSignal('stop')
/** Runs the certification checklist again (after an operator fixed what made an item fail). */
export const recheckCertificationSignal = defineSignal('recheckCertification')
/** Sets a simulated election's rate (ballots per second); returns the previous one. */
export const setRateUpdate = defineUpdate<number, [number]>('setRate')
export const progressQuery = defineQuery<ElectionProgress>('progress')

/** Registered by the dev server at start (see lib/local-stack.ts); the Web UI filters on them. */
export const electionIdKey = defineSearchAttributeKey('ElectionId', SearchAttributeType.KEYWORD)
export const electionStatusKey = defineSearchAttributeKey('ElectionStatus', SearchAttributeType.KEYWORD)
