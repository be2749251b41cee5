import { describe, expect, it } from 'vitest'
import { accountedPerPartition } from '../../lib/counting/count-batch.ts'
import { type FetchedBatch, runsOfBatch } from './runs-of-batch.ts'

/** A batch as kafkajs builds one: `positions` are what the fetch returned, `handed` what survived its filters. */
function batch(positions: number[], handed: number[]): FetchedBatch {
  return {
    partition: 3,
    messages: handed.map((o) => ({ offset: String(o), value: Buffer.from(`m${o}`) })),
    firstOffset: () => (positions.length > 0 ? String(positions[0]) : null),
    lastOffset: () => String(positions[positions.length - 1]),
  }
}

const shape = (runs: ReturnType<typeof runsOfBatch>) =>
  runs.map((r) => ({
    through: r.through,
    entries: r.entries.map((e) => (e.skippedThrough ? `${e.offset}..${e.skippedThrough}` : e.offset)),
  }))

describe('runs of a fetched batch', () => {
  it('covers a commit marker at the tail, so the fence reaches the end of the log', () => {
    // A transactional producer's message at 10 and its commit marker at 11.
    expect(shape(runsOfBatch(batch([10, 11], [10]), 100))).toEqual([{ through: '11', entries: ['10', '11..11'] }])
  })

  it('covers an aborted transaction and its marker in the middle, and a batch of nothing else', () => {
    expect(shape(runsOfBatch(batch([4, 5, 6, 7, 8], [4, 8]), 100))).toEqual([{ through: '8', entries: ['4', '5..7', '8'] }])
    expect(shape(runsOfBatch(batch([20, 21], []), 100))).toEqual([{ through: '21', entries: ['20..21'] }])
  })

  it('cuts runs of at most max entries, each ending where the next begins', () => {
    const runs = runsOfBatch(batch([0, 1, 2, 3, 4, 5], [0, 1, 3, 4]), 2)
    expect(shape(runs)).toEqual([
      { through: '1', entries: ['0', '1'] },
      { through: '3', entries: ['2..2', '3'] },
      { through: '5', entries: ['4', '5..5'] },
    ])
  })

  it('hands over nothing for a fetch that returned nothing at or past its offset', () => {
    expect(runsOfBatch(batch([], []), 10)).toEqual([])
  })
})

describe('what a transaction accounts for', () => {
  const fence = (p: number, at: string) => new Map([[p, at]])
  const entries = (partition: number, spec: Array<number | [number, number]>) =>
    spec.map((s) =>
      typeof s === 'number'
        ? { partition, offset: String(s), value: null }
        : { partition, offset: String(s[0]), value: null, skippedThrough: String(s[1]) },
    )

  it('counts messages and skipped positions from the fence, so the fence equals their sum', () => {
    const a = accountedPerPartition(entries(0, [0, [1, 2], 3]), fence(0, '0')).get(0)
    expect(a).toEqual({ next: 4, messages: 2, skipped: 2, gaps: [] })
  })

  it('records positions between the fence and the first one handed over as a gap, never passing them in silence', () => {
    const a = accountedPerPartition(entries(0, [7, 8]), fence(0, '5')).get(0)
    expect(a).toEqual({ next: 9, messages: 2, skipped: 0, gaps: [{ from: 5, to: 7 }] })
  })

  it('adds nothing for positions below the fence, and counts only the part of a skip above it', () => {
    expect(accountedPerPartition(entries(0, [1, 2]), fence(0, '3')).get(0)).toBeUndefined()
    expect(accountedPerPartition(entries(0, [[1, 4], 5]), fence(0, '3')).get(0)).toEqual({ next: 6, messages: 1, skipped: 2, gaps: [] })
  })
})
