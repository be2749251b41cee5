import type { ContestCall, ContestCallDecision } from '../contest-calls.ts'
import type { RcvResult } from './tabulate.ts'

/**
 * Race calls of a ranked-choice contest. Instant runoff is not monotonic: a ballot ranking
 * a candidate higher can make them lose, so a lead in the last round says nothing about
 * what the outstanding ballots can do. The bound used here is the one that holds whatever
 * they rank:
 *
 * - **a majority in round 1 beyond the outstanding ballots**: a candidate whose round-1
 *   votes are more than half of the round's continuing votes with every outstanding ballot
 *   added to them (2·votes > continuing + outstanding) is elected in round 1 by any
 *   arrangement of those ballots — they can only add to the continuing votes, never take
 *   from the candidate's;
 * - **every ballot counted** (outstanding 0): the rounds as they stand are final.
 *
 * Anything else is not called before every ballot is counted (issue 27: "if none can be
 * shown, the contest is not called"). Both rules are sound, so a standing call is never
 * contradicted by a later count; should the rounds ever elect someone else, the call is
 * retracted with the reason (rankedCallContradiction).
 */

export const RANKED_CALL_RULES = {
  roundOneMajority: 'a majority of round-1 votes with every outstanding ballot counted against',
  everyBallotCounted: 'every ballot counted: the rounds are final',
} as const

/** The call the rounds allow now, given the ballots that may still come (null: unbounded). */
export function decideRankedCall(
  contestId: string,
  result: RcvResult,
  bound: { outstanding: number } | null,
  standing: ReadonlyArray<Pick<ContestCall, 'selectionId'>>,
): ContestCallDecision | null {
  if (!bound || standing.length > 0) return null
  const first = result.rounds[0]
  const last = result.rounds.at(-1)
  // Every ballot inactive (or none ranking anyone): the "winner" would be a tie-break among zeros.
  if (!first || !last || last.continuingVotes === 0) return null
  const winner = result.winner
  const votes = first.tally[winner] ?? 0
  const others = first.continuingVotes - votes
  if (bound.outstanding === 0) {
    const final = last.tally[winner] ?? 0
    return {
      contestId,
      selectionId: winner,
      outcome: 'elected',
      rule: RANKED_CALL_RULES.everyBallotCounted,
      figures: { votes: final, against: last.continuingVotes - final, outstanding: 0 },
    }
  }
  if (2 * votes > first.continuingVotes + bound.outstanding)
    return {
      contestId,
      selectionId: winner,
      outcome: 'elected',
      rule: RANKED_CALL_RULES.roundOneMajority,
      figures: { votes, against: others, outstanding: bound.outstanding },
    }
  return null
}

/** Why the rounds as they stand contradict a standing call, or null when they elect the one called. */
export function rankedCallContradiction(call: Pick<ContestCall, 'selectionId'>, result: RcvResult): string | null {
  if ((result.rounds.at(-1)?.continuingVotes ?? 0) === 0)
    return `no ballot counts for a candidate in the last round: nobody is elected, not ${call.selectionId}`
  if (call.selectionId === result.winner) return null
  return `the rounds elect ${result.winner} in round ${result.rounds.length}, not ${call.selectionId}`
}
