import {
  ActivityFailure,
  CancellationScope,
  ContinueAsNew,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow'
import type { ElectionActivities } from '../activities/index.ts'
import type { AuditResult, AuditRound } from '../domain/audit/report.ts'
import { DEFAULT_ROUND_POLICY } from '../domain/audit/rounds.ts'

export interface AuditWorkflowInput {
  auditId: string
  /** `board`: an audit board enters the drawn papers through the API (the workflow waits for them); absent: the simulator reads them. */
  papers?: 'board'
  /** The chance of stopping in a round that each round's size aims at. */
  roundQuantile?: number
  /** Each round draws at least this factor of the draws before it. */
  growth?: number
}

export interface AuditProgress {
  auditId: string
  round: number
  draws: number
  /** Per contest: its status after the last round. */
  contests: Array<{ contestId: string; status: string }>
  result: AuditResult['status'] | 'failed' | null
  /** A board's audit: the drawn papers of this round not entered yet, or `hand count` while it waits for one. */
  awaiting?: number | 'hand count'
}

export const auditProgressQuery = defineQuery<AuditProgress>('auditProgress')
/** The API's nudge after a board entered a paper or its hand count: look again now (the workflow also looks every five minutes). */
export const papersEnteredSignal = defineSignal('papersEntered')

const acts = proxyActivities<ElectionActivities>({
  // A round of a county's audit walks the box once and the generator's ballots once.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  // A round that fails five times in a row fails for a reason of its own (the audit then ends as failed).
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['AppError'] },
})

// What a board's audit asks while it waits (days): cheap reads, retried without end, so a
// database restart delays the audit instead of failing it and losing what the board entered.
const polls = proxyActivities<ElectionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['AppError'] },
})

/**
 * A risk-limiting audit (BRAVO ballot polling, or super-simple ballot comparison) of chosen contests of a certified election
 * (workflow id `audit-<auditId>`; the request, its contests, risk limit and seed are the
 * audit's row, written by the API). Round by round: each round draws the next tickets from
 * the seed over the published manifest (Rivest's sampler), reads those ballots' papers and
 * tests every reported winner against every reported loser over the whole sample. It ends
 * when every contest is confirmed at the risk limit, or with a full hand count that either
 * confirms the reported outcome or shows it wrong: a wrong outcome is confirmed by the
 * sample with probability at most the risk limit. Rounds are recorded as they finish (the
 * API's report) and summed up in the memo and the `auditProgress` query (the Web UI).
 */
export async function auditWorkflow(input: AuditWorkflowInput): Promise<AuditResult> {
  const quantile = input.roundQuantile ?? DEFAULT_ROUND_POLICY.quantile
  const growth = input.growth ?? DEFAULT_ROUND_POLICY.growth
  const progress: AuditProgress = { auditId: input.auditId, round: 0, draws: 0, contests: [], result: null }
  setHandler(auditProgressQuery, () => progress)
  let nudged = false
  setHandler(papersEnteredSignal, () => {
    nudged = true
  })
  /**
   * Waits until `done` says so: asked after each nudge, and every fifteen minutes in case a
   * nudge was lost. A board's audit can wait for weeks: once Temporal suggests it, the
   * workflow continues as new with the same input, and its rounds' activities answer again
   * from what they recorded (each round is drawn and decided once).
   */
  const waitFor = async (done: () => Promise<boolean>, what: string) => {
    while (!(await done())) {
      upsertMemo({ awaiting: what })
      if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof auditWorkflow>(input)
      await condition(() => nudged, '15 minutes')
      nudged = false
    }
    upsertMemo({ awaiting: null })
  }
  try {
    let last: AuditRound | null = null
    while (!last || last.contests.some((c) => c.status === 'escalate')) {
      const round = { auditId: input.auditId, round: progress.round + 1, quantile, growth }
      if (input.papers === 'board') {
        // The board reads the drawn papers (days, in a county): the round waits for them, then decides.
        const drawn = await acts.drawAuditRound(round)
        progress.draws = drawn.draws
        progress.awaiting = drawn.awaiting
        await waitFor(async () => {
          progress.awaiting = await polls.papersAwaited(round)
          return progress.awaiting === 0
        }, `papers of round ${round.round}`)
        last = await acts.decideAuditRound(round)
      } else last = await acts.auditRound(round)
      progress.round = last.round
      progress.draws = last.draws
      progress.contests = last.contests.map((c) => ({ contestId: c.contestId, status: c.status }))
      upsertMemo({ round: last.round, draws: last.draws, contests: progress.contests.map((c) => `${c.contestId}: ${c.status}`).join('; ') })
      log.info('audit round', { auditId: input.auditId, round: last.round, draws: last.draws })
    }
    if (input.papers === 'board' && last.contests.some((c) => c.status === 'full-hand-count-needed')) {
      progress.awaiting = 'hand count'
      await waitFor(() => polls.handCountEntered({ auditId: input.auditId }), 'the full hand count')
    }
    progress.awaiting = undefined
    const result = await acts.concludeAudit({ auditId: input.auditId })
    progress.result = result.status
    upsertMemo({ result: result.status })
    return result
  } catch (err) {
    // Continuing as new is not an end: the next run takes the audit up where it stands.
    if (err instanceof ContinueAsNew) throw err
    // A refusal (files changed, no papers), a round out of attempts or a cancellation ends the
    // audit as failed, recorded even when cancelled; the error stays the workflow's.
    const reason = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : err instanceof Error ? err.message : String(err)
    await CancellationScope.nonCancellable(() => acts.failAudit({ auditId: input.auditId }))
    progress.result = 'failed'
    upsertMemo({ result: 'failed', reason })
    throw err
  }
}
