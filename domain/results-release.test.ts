import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type CellProgress, cellsToRelease as due } from './results-release.ts'

/** Which cells are due, by region and channel. */
const released = (cells: CellProgress[], step: number) => due(cells, step).map(({ regionId, channel }) => ({ regionId, channel }))
const cell = (live: number, released: number, regionId = 'p1', channel = 'election_day') => ({ regionId, channel, live, released })

describe('releasing counts to the public in steps', () => {
  it('releases a cell once it has a whole step of ballots more than its public copy', () => {
    expect(released([cell(9, 0)], 10)).toEqual([])
    expect(released([cell(10, 0)], 10)).toEqual([{ regionId: 'p1', channel: 'election_day' }])
    expect(released([cell(19, 10)], 10)).toEqual([])
    expect(released([cell(20, 10)], 10)).toHaveLength(1)
    expect(released([cell(10, 10)], 10)).toEqual([])
  })

  it('releases a correction downwards at once: the public never keeps ballots that are not counted', () => {
    expect(released([cell(12, 13)], 10)).toHaveLength(1)
    expect(released([cell(0, 10)], 10)).toHaveLength(1)
  })

  it('with a step of 1 releases every change (the behaviour before steps)', () => {
    expect(released([cell(1, 0), cell(5, 4, 'p2'), cell(3, 3, 'p3')], 1).map((c) => c.regionId)).toEqual(['p1', 'p2'])
  })

  it('releases at most `max` cells a round: corrections first, then the furthest behind, and the rest next round', () => {
    const cells = [cell(12, 0, 'a'), cell(40, 10, 'b'), cell(25, 0, 'c'), cell(3, 9, 'd'), cell(9, 0, 'e'), cell(12, 0, 'a', 'mail')]
    expect(due(cells, 10, 3).map((c) => `${c.regionId} ${c.channel}`)).toEqual(['d election_day', 'b election_day', 'c election_day'])
    // Ties: by region, then channel.
    expect(
      due(cells, 10, 4)
        .map((c) => `${c.regionId} ${c.channel}`)
        .slice(3),
    ).toEqual(['a election_day'])
    // Without a cap, or with room for all, every due cell as before (e excluded: 9 of a step of 10).
    expect(due(cells, 10)).toHaveLength(5)
    expect(due(cells, 10, 5)).toHaveLength(5)
    for (const max of [0, -1, Number.NaN]) expect(() => due(cells, 10, max)).toThrow(/max/)
    // Every due cell goes out within ceil(due / max) rounds however the cap falls (the furthest behind first).
    let pending = cells.map((c) => ({ ...c }))
    for (let round = 0; round < 3; round++) {
      const out = new Set(due(pending, 10, 2).map((c) => `${c.regionId} ${c.channel}`))
      pending = pending.map((c) => (out.has(`${c.regionId} ${c.channel}`) ? { ...c, released: c.live } : c))
    }
    expect(due(pending, 10)).toEqual([])
  })

  it('refuses a step that is not a positive integer', () => {
    for (const step of [0, -1, 1.5, Number.NaN]) expect(() => released([], step)).toThrow(/step/)
  })

  it('never publishes a cell in a step of fewer ballots, however the ballots arrive (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 40 }), (step, arrivals) => {
        // One cell: ballots arrive in bursts, the publisher releases after each burst.
        let live = 0
        let published = 0
        for (const n of arrivals) {
          live += n
          if (released([cell(live, published)], step).length > 0) {
            expect(live - published).toBeGreaterThanOrEqual(step)
            published = live
          }
          expect(live - published).toBeLessThan(step)
        }
      }),
    )
  })
})
