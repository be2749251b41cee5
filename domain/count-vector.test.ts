import { describe, expect, it } from 'vitest'
import type { Marks } from './ballot.ts'
import { type ElectionDefinitionInput, electionDefinitionSchema, resolveDefinition, WRITE_IN_SELECTION } from './contests.ts'
import { CountLayoutError, countLayout, SLOT, styleTotals, sumVectors, vectorIndex } from './count-vector.ts'
import { indexDefinition, tabulateBallot } from './tabulation.ts'

const input: ElectionDefinitionInput = {
  districts: [
    { id: 'all', name: 'Everywhere' },
    { id: 'city', name: 'City', level: 'city', regions: ['r2'] },
  ],
  contests: [
    {
      id: 'mayor',
      name: 'Mayor',
      type: 'candidate',
      district: 'all',
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'alan', name: 'Alan' },
      ],
    },
    {
      id: 'council',
      name: 'Council',
      type: 'candidate',
      district: 'all',
      votesAllowed: 2,
      writeIns: true,
      candidates: [
        { id: 'a', name: 'A' },
        { id: 'b', name: 'B' },
        { id: 'c', name: 'C' },
      ],
    },
    { id: 'city-q', name: 'City question', type: 'measure', district: 'city', threshold: '2/3' },
  ],
}

const resolvedOrThrow = () => {
  const r = resolveDefinition(electionDefinitionSchema.parse(input), [
    { id: 'r1', state: 'NV' },
    { id: 'r2', state: 'NV' },
  ])
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.resolved
}
const resolved = resolvedOrThrow()
const tabulation = indexDefinition(resolved)
const vector = vectorIndex(resolved, countLayout(resolved))

describe('count vectors', () => {
  it('lays out each style as its contests in ballot order, blocks of 4 + selections', () => {
    const layout = countLayout(resolved)
    const styleOf = (r: string) => resolved.styleOfRegion.get(r) as string
    expect([...(layout.get(styleOf('r1')) ?? [])]).toEqual([
      ['mayor', 1],
      ['council', 7],
    ])
    expect([...(layout.get(styleOf('r2')) ?? [])]).toEqual([
      ['mayor', 1],
      ['council', 7],
      ['city-q', 14],
    ])
    expect(vector.styles.get(styleOf('r2'))?.length).toBe(6 + 7 + 6)
  })

  it('sums ballots into the same cells a plain count of their outcomes gives, one vector per region × channel × partition', () => {
    const ballots: Array<[string, Marks]> = [
      ['r1', { mayor: ['ada'], council: ['a', { writeIn: 'Zed' }] }],
      ['r1', { mayor: ['ada', 'alan'], council: [] }], // mayor overvoted, council blank
      ['r2', { mayor: ['alan'], council: ['b'], 'city-q': ['yes'] }],
      ['r2', { 'city-q': ['no'] }],
      ['r2', { council: ['a', 'b', 'c'], 'city-q': ['yes'] }], // council overvoted
    ]
    const judged = ballots.map(([regionId, marks]) => {
      const t = tabulateBallot(tabulation, regionId, marks)
      if (!t.ok) throw new Error(t.detail)
      return { electionId: 'e', regionId, channel: 'mail', partition: 0, styleId: t.styleId, contests: t.contests }
    })
    const rows = sumVectors(judged, () => vector)
    expect(rows.map((r) => r.regionId)).toEqual(['r1', 'r2'])
    // Read every cell back through the layout, as the SQL views do, and compare with a plain count.
    const plain = new Map<string, number>()
    const add = (k: string, n: number) => plain.set(k, (plain.get(k) ?? 0) + n)
    for (const b of judged)
      for (const o of b.contests) {
        add(`${b.regionId}|${o.contestId}|:ballots`, 1)
        add(`${b.regionId}|${o.contestId}|:undervotes`, o.undervotes)
        add(`${b.regionId}|${o.contestId}|:overvotes`, o.overvoted)
        for (const s of o.selections) add(`${b.regionId}|${o.contestId}|${s}`, 1)
      }
    const read = new Map<string, number>()
    for (const row of rows) {
      const style = vector.styles.get(row.styleId)
      for (const [contestId, at] of style?.at ?? []) {
        const i = at - 1
        read.set(`${row.regionId}|${contestId}|:ballots`, row.counts[i + SLOT.ballots] ?? NaN)
        read.set(`${row.regionId}|${contestId}|:undervotes`, row.counts[i + SLOT.undervotes] ?? NaN)
        read.set(`${row.regionId}|${contestId}|:overvotes`, row.counts[i + SLOT.overvotes] ?? NaN)
        for (const [sel, slot] of vector.slots.get(contestId) ?? []) {
          const n = row.counts[i + slot] ?? NaN
          if (n !== 0 || plain.has(`${row.regionId}|${contestId}|${sel}`)) read.set(`${row.regionId}|${contestId}|${sel}`, n)
        }
      }
    }
    expect(Object.fromEntries(read)).toEqual(Object.fromEntries(plain))
    expect(plain.get(`r1|council|${WRITE_IN_SELECTION}`)).toBe(1)
    expect(plain.get('r2|city-q|yes')).toBe(2)
    expect(plain.get('r1|mayor|:overvotes')).toBe(1)
  })

  it('sums the vectors of a style per partition, whatever their region or channel, and refuses vectors of different lengths', () => {
    const row = (regionId: string, channel: string, partition: number, styleId: string, counts: number[]) => ({
      electionId: 'e',
      regionId,
      channel,
      partition,
      styleId,
      counts,
    })
    const vectors = [
      row('r2', 'mail', 1, 's1', [1, 0, 0, 0, 1]),
      row('r1', 'mail', 0, 's1', [2, 1, 0, 0, 1]),
      row('r1', 'early', 0, 's1', [3, 0, 1, 1, 1]),
      row('r3', 'mail', 0, 's2', [5, 5, 0]),
    ]
    expect(styleTotals(vectors)).toEqual([
      { electionId: 'e', styleId: 's1', partition: 0, counts: [5, 1, 1, 1, 2] },
      { electionId: 'e', styleId: 's1', partition: 1, counts: [1, 0, 0, 0, 1] },
      { electionId: 'e', styleId: 's2', partition: 0, counts: [5, 5, 0] },
    ])
    // The inputs are not changed (the batch's vectors are written as they are).
    expect(vectors[1]?.counts).toEqual([2, 1, 0, 0, 1])
    expect(() => styleTotals([...vectors, row('r4', 'mail', 0, 's2', [1, 1])])).toThrow(CountLayoutError)
  })

  it('refuses a stored layout that does not fit the definition, rather than count into the wrong cells', () => {
    const layout = countLayout(resolved)
    const style = resolved.styleOfRegion.get('r2') as string
    layout.get(style)?.set('council', 8)
    expect(() => vectorIndex(resolved, layout)).toThrow(/does not fit contest council/)
    expect(() => vectorIndex(resolved, new Map())).toThrow(/no stored count layout/)
  })
})
