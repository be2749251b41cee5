import { z } from 'zod'
import { RANKS_ALLOWED_MAX } from './rules.ts'

/**
 * One ballot's rankings in one ranked-choice contest, as the voter marked them: an array
 * indexed by rank (index 0 = 1st choice), each entry the candidate ids marked at that rank.
 *
 * - `[]` at a rank: the voter skipped it;
 * - one id: a ranking;
 * - two or more ids: an overvote at that rank (how it counts is the contest's overvoteRule);
 * - the same id at two ranks: a repeated ranking (duplicateRankingRule);
 * - no ids at any rank (or no ranks): an undervote — counted apart, never an inactive ballot.
 *
 * Voter errors (overvotes, skips, repeats) are kept as marked: they are the tabulation's to
 * judge, round by round, and the rules differ between jurisdictions. What is refused here is
 * what cannot be a marking of this contest at all (validateRanking).
 */
export type Ranking = readonly (readonly string[])[]

/** The shape a ballot message carries; contest-specific checks are validateRanking's. */
export const rankingSchema = z.array(z.array(z.string().min(1).max(64)).max(100)).max(RANKS_ALLOWED_MAX)

/** Why a ranking is not a marking of its contest; named like the ballot's RejectionReason where the meaning is the same. */
export const RANKING_REJECTIONS = [
  'rank_beyond_limit', // a rank past the contest's ranksAllowed
  'unknown_selection', // a candidate the contest does not have
  'malformed_mark', // the same candidate twice at one rank: a marking no paper ballot can carry
] as const
export type RankingRejection = (typeof RANKING_REJECTIONS)[number]

export type RankingCheck = { ok: true } | { ok: false; reason: RankingRejection; message: string }

export interface RankedContest {
  ranksAllowed: number
  /** The candidates' ids. */
  candidates: Iterable<string> | ReadonlySet<string>
}

export function validateRanking(contest: RankedContest, ranking: Ranking): RankingCheck {
  if (ranking.length > contest.ranksAllowed)
    return {
      ok: false,
      reason: 'rank_beyond_limit',
      message: `the ballot ranks to rank ${ranking.length}; this contest allows ${contest.ranksAllowed}`,
    }
  const known = contest.candidates instanceof Set ? (contest.candidates as ReadonlySet<string>) : new Set(contest.candidates)
  for (let rank = 0; rank < ranking.length; rank++) {
    const marks = ranking[rank] ?? []
    for (let i = 0; i < marks.length; i++) {
      const id = marks[i] as string
      if (!known.has(id)) return { ok: false, reason: 'unknown_selection', message: `rank ${rank + 1}: no candidate ${id} in this contest` }
      if (marks.indexOf(id) !== i) return { ok: false, reason: 'malformed_mark', message: `rank ${rank + 1}: candidate ${id} marked twice` }
    }
  }
  return { ok: true }
}

/**
 * The ranking as tabulation reads it: the marks at each rank sorted (an overvote is a set),
 * blank ranks after the last marked one dropped (they change nothing: the ballot runs out of
 * choices there either way). Two ballots with the same canonical ranking count the same
 * under every rule, so tallies can be kept per canonical ranking (rankingKey) and not per
 * ballot.
 */
export function canonicalRanking(ranking: Ranking): string[][] {
  let end = ranking.length
  while (end > 0 && (ranking[end - 1]?.length ?? 0) === 0) end--
  const out: string[][] = []
  for (let rank = 0; rank < end; rank++) out.push([...(ranking[rank] ?? [])].sort())
  return out
}

/** A stable text key of the canonical ranking: for storing counts per distinct ranking (e.g. a database column). */
export function rankingKey(ranking: Ranking): string {
  return JSON.stringify(canonicalRanking(ranking))
}

/** True when the voter marked nothing in the contest. */
export function isUndervote(ranking: Ranking): boolean {
  return ranking.every((marks) => marks.length === 0)
}
