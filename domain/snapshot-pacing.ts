/** Building results snapshots may take this share of the time per election, at most. */
export const SNAPSHOT_BUSY_SHARE = 0.2

/**
 * When an election's next snapshot may be built, given how long its last one took: a large
 * election (5,000 precincts: ~300 ms a snapshot) would otherwise be rebuilt back to back,
 * and the database would spend a core on snapshots instead of counting. Quick snapshots
 * keep the interval.
 */
export function nextSnapshotAt(now: number, tookMs: number, intervalMs: number): number {
  return now + Math.max(intervalMs, tookMs / SNAPSHOT_BUSY_SHARE - tookMs)
}
