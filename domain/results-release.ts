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
 * cell size (the election's minCellBallots, 10 by default, as VotingWorks suppresses).
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

/**
 * Cells released in one round at most. A release holds the election's results lock (every
 * counting batch of the election waits for it) while it sums the old and new copies of the
 * cells it moves, about a quarter of a millisecond a cell: a burst of thousands of due cells
 * once held counting for 3 s. At this cap a round holds it for about 0.1 s; cells beyond it
 * wait for the next round (about a second), the most behind first.
 */
export const MAX_CELLS_PER_RELEASE = 400

/**
 * The cells to release now (released at their `live` ballots), at most `max` of them:
 * corrections first (a count that went down is released at once), then the cells furthest
 * behind their counts, so none waits behind others for ever.
 */
export function cellsToRelease(cells: readonly CellProgress[], step: number, max = Number.POSITIVE_INFINITY): CellProgress[] {
  if (!Number.isInteger(step) || step < 1) throw new Error(`cellsToRelease: step must be a positive integer, not ${step}`)
  if (!(max >= 1)) throw new Error(`cellsToRelease: max must be at least 1, not ${max}`)
  const due = cells.filter((c) => c.live - c.released >= step || c.live < c.released)
  if (due.length <= max) return due
  const behind = (c: CellProgress) => (c.live < c.released ? Number.POSITIVE_INFINITY : c.live - c.released)
  return due
    .sort(
      (a, b) =>
        behind(b) - behind(a) ||
        (a.regionId < b.regionId ? -1 : a.regionId > b.regionId ? 1 : 0) ||
        (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0),
    )
    .slice(0, max)
}
