import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow'
import type { ElectionActivities } from '../activities/index.ts'
import type { ElectionState } from '../domain/progress.ts'
import { rateProblem } from '../domain/rates.ts'
import {
  type ElectionOutcome,
  type ElectionWorkflowInput,
  electionStatusKey,
  pauseSignal,
  progressQuery,
  recheckCertificationSignal,
  resumeSignal,
  setRateUpdate,
  stopSignal,
} from '../lib/election-workflow-contract.ts'
import { turnoutFactor } from './turnout-curve.ts'

/** Histories recorded before race calls moved into the workflow replay without them. */
const RACE_CALLS_PATCH = 'race-calls-decided-by-the-workflow'
/** Histories recorded before the certification checklist replay without it. */
const CHECKLIST_PATCH = 'certification-checklist'
/** Histories recorded before the audit files were published at certification replay without them. */
const AUDIT_FILES_PATCH = 'audit-files-published-at-certification'
/** Histories recorded before contests had calls of their own replay without them. */
const CONTEST_CALLS_PATCH = 'contest-calls-decided-by-the-workflow'
/**
 * How often contest calls are decided while a simulation produces: each decision reads
 * every count vector of the election (seconds at county scale), too much for every chunk.
 */
const CONTEST_CALLS_EVERY_MS = 5_000

const acts = proxyActivities<ElectionActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', nonRetryableErrorTypes: ['AppError'] },
})

/** Counting must finish however long the stream takes; it heartbeats while it waits. */
const waiting = proxyActivities<ElectionActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
})

/**
 * Writing a large roll, the final reconciliation and the checklist read or write every
 * voter or ballot of the election: minutes on a large one. They heartbeat between steps; a lost worker is noticed within two minutes.
 */
const long = proxyActivities<ElectionActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['AppError'] },
})

/**
 * One election, from open to certified (workflow id `election-<id>`). A simulated one
 * produces ballots in chunks of about a second at the target rate, shaped by the
 * turnout curve; pause, resume, stop and setRate steer it. On closing it waits until the
 * stream has counted everything produced, reconciles, and certifies. Its signals, query,
 * update and search attributes, and its input and outcome, are defined in
 * lib/election-workflow-contract.ts, which clients import instead of this file.
 */
export async function electionWorkflow(input: ElectionWorkflowInput): Promise<ElectionOutcome> {
  const { electionId, simulation } = input
  const state: ElectionState = input.carried ?? {
    phase: 'open',
    paused: false,
    stopRequested: false,
    rate: simulation?.ratePerSecond ?? 0,
    nextIndex: 0,
    ballotCount: 0,
    produced: 0,
    highWater: {},
    counted: 0,
    rejected: 0,
    runs: 1,
  }
  let producing = false
  let recheckRequested = false
  let contestCallsAt = Number.NEGATIVE_INFINITY
  /** Decides the contests' calls (an election without contests returns at once); `due` spaces them out while producing. */
  const decideContestCalls = async (due: 'when-due' | 'now') => {
    if (!patched(CONTEST_CALLS_PATCH)) return
    if (due === 'when-due' && Date.now() - contestCallsAt < CONTEST_CALLS_EVERY_MS) return
    contestCallsAt = Date.now()
    await acts.decideContestCalls(electionId)
  }

  setHandler(pauseSignal, () => {
    state.paused = true
  })
  setHandler(resumeSignal, () => {
    state.paused = false
  })
  setHandler(stopSignal, () => {
    state.stopRequested = true
  })
  setHandler(recheckCertificationSignal, () => {
    recheckRequested = true
  })
  setHandler(progressQuery, () => ({ ...state, electionId, producing }))
  setHandler(
    setRateUpdate,
    (rate) => {
      const previous = state.rate
      state.rate = rate
      return previous
    },
    {
      validator: (rate) => {
        const problem = rateProblem(rate)
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidRate')
        if (!simulation) throw ApplicationFailure.nonRetryable('only a simulated election has a rate', 'NotSimulated')
      },
    },
  )

  const setPhase = (phase: ElectionState['phase']) => {
    state.phase = phase
    upsertSearchAttributes([{ key: electionStatusKey, value: phase }])
  }

  if (!input.carried) {
    // Writing a simulated roll of millions takes minutes: a long activity that heartbeats.
    const opened = await long.openElection(electionId)
    state.ballotCount = opened.ballotCount
    await acts.scheduleReconciliation(electionId, input.reconcileEverySeconds ?? 30)
    setPhase('open')
  }

  while (state.phase === 'open') {
    if (state.stopRequested) break
    if (!simulation) {
      await condition(() => state.stopRequested)
      break
    }
    if (state.nextIndex >= state.ballotCount) break
    if (state.paused) {
      await condition(() => !state.paused || state.stopRequested)
      continue
    }
    const chunkSeconds = simulation.chunkSeconds ?? 1
    const size = Math.max(1, Math.round(state.rate * chunkSeconds * turnoutFactor(state.nextIndex / state.ballotCount)))
    const to = Math.min(state.ballotCount, state.nextIndex + size)
    producing = true
    const sent = await acts.produceBallots({ electionId, from: state.nextIndex, to, ratePerSecond: state.rate })
    producing = false
    state.nextIndex = to
    state.produced += sent.messages
    state.counted = sent.counted
    state.rejected = sent.rejected
    if (patched(RACE_CALLS_PATCH)) await acts.decideRaceCalls(electionId)
    await decideContestCalls('when-due')

    const info = workflowInfo()
    if (info.continueAsNewSuggested || info.historyLength > (input.maxHistoryEvents ?? 5000)) {
      await condition(allHandlersFinished)
      log.info('continuing as new', { electionId, nextIndex: state.nextIndex, historyLength: info.historyLength })
      return continueAsNew<typeof electionWorkflow>({ ...input, carried: { ...state, runs: state.runs + 1 } })
    }
  }

  if (state.phase === 'open') {
    setPhase('closing')
    state.highWater = await acts.closePolls(electionId, simulation ? state.produced : null)
    if (patched(RACE_CALLS_PATCH)) await acts.decideRaceCalls(electionId)
    await decideContestCalls('now')
  }
  if (state.phase === 'closing') {
    const counted = await waiting.waitUntilCounted(electionId, state.highWater)
    state.counted = counted.counted
    state.rejected = counted.rejected
    await acts.finishCounting(electionId)
    setPhase('closed')
  }
  const checklist = patched(CHECKLIST_PATCH)
  // Counting is over: the periodic recounts stop before the final one.
  if (checklist) await acts.unscheduleReconciliation(electionId)
  let report = await (checklist ? long : acts).reconcileElection(electionId, { final: true })
  // Every call made so far must agree with the final count (or it is retracted), and the
  // races not called yet are called now that nothing is outstanding.
  if (patched(RACE_CALLS_PATCH)) await acts.checkRaceCallsAgainstFinalCount(electionId)
  await decideContestCalls('now')
  // Nothing certifies on a failing item: the election stays closed, the failing items are
  // named (API, live page, Grafana, this workflow's memo), and an operator who fixed the
  // cause asks for the checks again.
  while (checklist) {
    const check = await long.checkCertification(electionId, { repaired: report.differences.length })
    state.certificationFailing = check.items.filter((i) => !i.passed).map((i) => i.id)
    upsertMemo({ certification: check.passed ? 'every check passed' : `blocked by: ${state.certificationFailing.join(', ')}` })
    if (check.passed) break
    log.warn('certification blocked', { electionId, failing: check.items.filter((i) => !i.passed) })
    recheckRequested = false
    await condition(() => recheckRequested)
    report = await long.reconcileElection(electionId, { final: true })
    await acts.checkRaceCallsAgainstFinalCount(electionId)
    await decideContestCalls('now')
  }
  const certified = await acts.certifyElection(electionId, { ballotsGenerated: simulation ? state.nextIndex : null })
  // The cast vote records, manifest and batch tallies, committed by their hashes before any
  // audit can draw its seed (an election without contests has none).
  if (patched(AUDIT_FILES_PATCH)) await long.publishAuditFiles(electionId)
  await acts.unscheduleReconciliation(electionId)
  setPhase('certified')
  await condition(allHandlersFinished)
  return {
    electionId,
    produced: state.produced,
    counted: certified.counted,
    rejected: certified.rejected,
    reconciliation: report.verdict,
    runs: state.runs,
  }
}
