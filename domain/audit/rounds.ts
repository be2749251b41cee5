import { type BravoContestResult, bravoContestRoundSize, type ReportedContest } from './bravo.ts'

export interface RoundPolicy {
  /** The chance of stopping in the round that its size aims at (Arlo: 0.9). */
  quantile: number
  /** Each round draws at least this factor of the draws before it, so an audit full of errors reaches the full count in a few rounds. */
  growth: number
}

export const DEFAULT_ROUND_POLICY: RoundPolicy = { quantile: 0.9, growth: 2 }

/**
 * The draws an audit should have after its next round: the largest of each still-open
 * contest's size for a `quantile` chance to stop (given what the sample so far holds), the
 * draws so far × `growth`, and one more draw; at most N, the manifest's ballots (a sample
 * that shows a reported loser ahead needs an infinite round: that is the full count).
 */
export function nextRoundTarget(
  contests: readonly ReportedContest[],
  riskLimit: number,
  soFar: readonly BravoContestResult[] | null,
  drawn: number,
  N: number,
  policy: RoundPolicy = DEFAULT_ROUND_POLICY,
): number {
  const wanted = Math.max(
    ...contests.map((c, i) => {
      const r = soFar?.[i]
      return !r || r.status === 'escalate' ? bravoContestRoundSize(c, riskLimit, policy.quantile, r) : 0
    }),
    Math.ceil(drawn * policy.growth),
    drawn + 1,
  )
  return Math.min(N, Number.isFinite(wanted) ? Math.ceil(wanted) : N)
}
