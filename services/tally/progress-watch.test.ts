import { describe, expect, it } from 'vitest'
import { createProgressWatch } from './progress-watch.ts'

describe('the progress watch behind /healthz', () => {
  it('reports a partition with lag and no progress, and clears it once it moves', () => {
    let t = 0
    const watch = createProgressWatch(1000, () => t)
    watch.assigned([0, 1])
    watch.fetched(0, 10n)
    watch.fetched(1, 5n)
    watch.accounted(1, 5n)
    t = 999
    expect(watch.stalled()).toEqual([])
    t = 1500
    expect(watch.stalled()).toEqual([0])
    watch.accounted(0, 3n)
    expect(watch.stalled()).toEqual([])
    t = 3000
    expect(watch.stalled()).toEqual([0])
    watch.accounted(0, 10n)
    t = 10_000
    expect(watch.stalled()).toEqual([])
  })

  it('forgets partitions that were revoked', () => {
    let t = 0
    const watch = createProgressWatch(1000, () => t)
    watch.assigned([0])
    watch.fetched(0, 10n)
    watch.assigned([1])
    t = 5000
    expect(watch.stalled()).toEqual([])
    expect(watch.partitions()).toEqual([1])
  })
})
