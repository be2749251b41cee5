import { describe, expect, it } from 'vitest'
import { nextSnapshotAt, SNAPSHOT_BUSY_SHARE } from './snapshot-pacing.ts'

describe('nextSnapshotAt', () => {
  it('keeps the interval for a snapshot that is quick to build', () => {
    expect(nextSnapshotAt(1_000, 5, 250)).toBe(1_250)
  })

  it('spaces out a slow snapshot so building takes at most its share of the time', () => {
    const took = 300
    const next = nextSnapshotAt(1_000, took, 250)
    expect(next).toBe(1_000 + 1_200)
    // Build, then wait: the building is 300 ms of every 1,500.
    expect(took / (took + (next - 1_000))).toBeCloseTo(SNAPSHOT_BUSY_SHARE)
  })
})
