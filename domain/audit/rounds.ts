import { type BravoContestResult, bravoContestRoundSize, type ReportedContest } from './bravo.ts'
import { type ComparisonContestResult, comparisonPairs, comparisonSampleSize, DEFAULT_GAMMA } from './comparison.ts'

export interface RoundPolicy {
  /** The chance of stopping in the round that its size aims at (Arlo: 0.9). */
  quantile: number
  /** Each round draws at least this factor of the draws before it, so an audit full of errors reaches the full count in a few rounds. */
  growth: number
}

export const DEFAULT_ROUND_POLICY: RoundPolicy = { quantile: 0.9, growth: 2 }

/**
 * The draws from which an audit stops sampling and counts every ballot by hand: half the
 * manifest. Draws are with replacement, so a sample that size already means reading about
 * two fifths of the papers, and an outcome that needs more is wrong or a near tie, which the
 * full count settles either way (a full count is always sound: it is the truth).
 */
export const fullCountAt = (N: number) => Math.max(1, Math.ceil(N / 2))

/**
 * The draws an audit should have after its next round: the largest of the draws so far plus
 * each still-open contest's size for a `quantile` chance to stop (given what the sample so
 * far holds), the draws so far × `growth`, and one more draw; at most the full-count limit
 * (a sample that shows a reported loser ahead needs an infinite round: that is the full count).
 */
export function nextRoundTarget(
  contests: readonly ReportedContest[],
  riskLimit: number,
  soFar: readonly BravoContestResult[] | null,
  drawn: number,
  N: number,
  policy: RoundPolicy = DEFAULT_ROUND_POLICY,
): number {
  const limit = fullCountAt(N)
  const sizes = contests.map((c, i) => {
    const r = soFar?.[i]
    return !r || r.status === 'escalate' ? bravoContestRoundSize(c, riskLimit, policy.quantile, r, limit) : 0
  })
  const broken = sizes.findIndex((n) => Number.isNaN(n))
  if (broken >= 0) throw new Error(`no round size for contest ${contests[broken]?.rules.id}: its reported votes give no number`)
  const wanted = Math.max(...sizes.map((n) => drawn + n), Math.ceil(drawn * policy.growth), drawn + 1)
  return Math.min(limit, Number.isFinite(wanted) ? Math.ceil(wanted) : limit)
}

/**
 * The draws a ballot-comparison audit should have after its next round. The first round is
 * the super-simple sample size with no discrepancy expected (each pair's, the largest): a
 * count whose records match their papers stops there. After it, each still-open contest's
 * own estimate with the discrepancies seen so far taken as the ones to expect (Colorado's),
 * and at least `growth` × the draws before, so a count full of errors reaches the full
 * count in a few rounds. At most the full-count limit.
 */
export function nextComparisonTarget(
  contests: readonly ReportedContest[],
  riskLimit: number,
  soFar: readonly ComparisonContestResult[] | null,
  drawn: number,
  N: number,
  policy: RoundPolicy = DEFAULT_ROUND_POLICY,
  gamma = DEFAULT_GAMMA,
): number {
  const limit = fullCountAt(N)
  const sizes = contests.map((c, i) => {
    const r = soFar?.[i]
    if (r) return r.status === 'escalate' ? r.nextSampleSize : 0
    return comparisonPairs(c).reduce((n, p) => Math.max(n, comparisonSampleSize(p.dilutedMargin, riskLimit, {}, gamma)), 0)
  })
  const open = soFar === null || soFar.some((r) => r.status === 'escalate')
  const wanted = Math.max(...sizes, open && drawn > 0 ? Math.ceil(drawn * policy.growth) : 0, drawn + 1)
  return Math.min(limit, Number.isFinite(wanted) ? Math.ceil(wanted) : limit)
}
