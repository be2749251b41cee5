/**
 * How large a definition and a ballot may be. Los Angeles County's longest ballot (November
 * 2014) had 152 contests and 292 candidates: these leave room for any real election and
 * refuse, with the limit named, what can only be a mistake or an attack.
 */
export const CONTEST_LIMITS = {
  contests: 500,
  districts: 1_000,
  selectionsPerContest: 100,
  votesAllowed: 50,
  /** Marks a ballot may carry in all (an overvote counts as marks too). */
  marksPerBallot: 1_000,
  /** Marks in one contest, overvotes included: past it the ballot is malformed, not an overvote. */
  marksPerContest: 100,
  writeInName: 100,
} as const
