/**
 * When a region × channel's counts become public while an election counts (the secret
 * ballot: public results never show which selection one new ballot changed).
 *
 * The counts grow ballot by ballot; the public reads a released copy of each region ×
 * channel (db/migrations/0033_released_counts.sql), refreshed only once the cell has at
 * least `step` ballots more than its copy. Between two published versions a released cell
 * moves by `step` ballots or more, so someone who saw one voter cast and compares the two
 * versions sees the combined marks of at least `step` ballots — the same protection as a
 * cell of `step` ballots, which is the smallest cell shown at all. The step is the minimum
 * cell size (TALLY_RESULTS_MIN_CELL_BALLOTS, 10 by default, as VotingWorks suppresses).
 *
 * A cell whose count went down (a correction) is released at once: the public must not keep
 * showing ballots that are not counted. Once counting has finished, public reads read the
 * counts themselves, so the final result is exact; a cell's last step may then be smaller
 * than `step` (named in docs/secret-ballot.md).
 */

/** A region × channel cell: its ballots counted now, and in its public copy. */
export interface CellProgress {
  regionId: string
  channel: string
  live: number
  released: number
}

/** The cells to release now (released at their `live` ballots). */
export function cellsToRelease(cells: readonly CellProgress[], step: number): CellProgress[] {
  if (!Number.isInteger(step) || step < 1) throw new Error(`cellsToRelease: step must be a positive integer, not ${step}`)
  return cells.filter((c) => c.live - c.released >= step || c.live < c.released)
}
