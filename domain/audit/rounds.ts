import { type BravoContestResult, bravoContestRoundSize, type ReportedContest } from './bravo.ts'

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
