import { describe, expect, it } from 'vitest'
import type { ContestCall } from './contest-calls.ts'
import { type BallotCell, contestResults, type VoteCell } from './contest-results.ts'
import { contestTotals, type RegionTurnout, type StyleSum } from './contest-totals.ts'
import { type ElectionDefinitionInput, electionDefinitionSchema, resolveDefinition, WRITE_IN_SELECTION } from './contests.ts'
import { countLayout, SLOT } from './count-vector.ts'

const input: ElectionDefinitionInput = {
  districts: [
    { id: 'all', name: 'Everywhere' },
    { id: 'city', name: 'City', level: 'city', regions: ['r2', 'r3'] },
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

const resolved = (() => {
  const r = resolveDefinition(electionDefinitionSchema.parse(input), [
    { id: 'r1', state: 'S' },
    { id: 'r2', state: 'S' },
    { id: 'r3', state: 'S' },
  ])
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.resolved
})()
const layouts = countLayout(resolved)

// Blocks are [ballots, undervotes, overvotes, write-in, selection 0, selection 1, …].
// style-1 (r1): mayor at 1, council at 7. style-2 (r2, r3): mayor at 1, council at 7, city-q at 14.
const r1 = [/* mayor */ 40, 2, 1, 0, 22, 15, /* council */ 40, 12, 2, 3, 30, 20, 11]
const r2 = [/* mayor */ 18, 0, 0, 0, 6, 12, /* council */ 18, 4, 1, 1, 12, 9, 8, /* city-q */ 18, 2, 0, 0, 11, 5]
const r3 = [/* mayor */ 12, 0, 0, 0, 4, 8, /* council */ 12, 2, 0, 1, 8, 6, 7, /* city-q */ 12, 1, 0, 0, 7, 4]
const styles: StyleSum[] = [
  { styleId: 'style-1', counts: r1 },
  { styleId: 'style-2', counts: r2.map((n, i) => n + (r3[i] ?? 0)) },
]
const regions: RegionTurnout[] = [
  { id: 'r1', styleId: 'style-1', registeredVoters: 50, ballots: 40 },
  { id: 'r2', styleId: 'style-2', registeredVoters: 20, ballots: 18 },
  { id: 'r3', styleId: 'style-2', registeredVoters: 25, ballots: 12 },
]
const base = {
  contests: resolved.contests,
  layouts,
  styles,
  legacyBallots: [],
  legacyVotes: [],
  regions,
  finished: false,
  calls: [] as ContestCall[],
  minCellBallots: 10,
}
const byId = (xs: ReturnType<typeof contestTotals>) => new Map(xs.map((x) => [x.id, x]))

describe('contest totals from vectors summed per style', () => {
  it('folds hand-computed vectors into totals per contest, in ballot order, with the write-in line where there is one', () => {
    expect(layouts.get('style-2')).toEqual(
      new Map([
        ['mayor', 1],
        ['council', 7],
        ['city-q', 14],
      ]),
    )
    const totals = contestTotals(base)
    expect(totals.map((c) => c.id)).toEqual(['mayor', 'council', 'city-q'])
    const [mayor, council, measure] = totals
    expect(mayor).toMatchObject({
      name: 'Mayor',
      type: 'candidate',
      votesAllowed: 1,
      numberElected: 1,
      threshold: null,
      suppressed: false,
      ballots: 70,
      undervotes: 2,
      overvotes: 1,
      votes: { ada: 32, alan: 35 },
    })
    expect(Object.keys(mayor?.votes ?? {})).toEqual(['ada', 'alan'])
    expect(council).toMatchObject({
      votesAllowed: 2,
      numberElected: 2,
      ballots: 70,
      undervotes: 18,
      overvotes: 3,
      votes: { a: 50, b: 35, c: 26, [WRITE_IN_SELECTION]: 5 },
    })
    expect(measure).toMatchObject({
      type: 'measure',
      threshold: { numerator: 2, denominator: 3, rule: 'at-least' },
      ballots: 30,
      undervotes: 3,
      overvotes: 0,
      votes: { yes: 18, no: 9 },
    })
    // The invariant holds over the totals as it does in every cell.
    expect(35 + 32 + 2 + 1 * 1).toBe(70 * 1)
    expect(50 + 35 + 26 + 5 + 18 + 3 * 2).toBe(70 * 2)
  })

  it('gives each contest its leaders, its measure verdict so far, and decided only from its recorded calls', () => {
    const [mayor, council, measure] = contestTotals(base)
    // Outstanding: the registered voters of the contest's regions who have not voted.
    // mayor, council: (50-40) + (20-18) + (25-12) = 25; city-q (r2, r3): 2 + 13 = 15.
    expect(mayor?.outcome).toEqual({ leaders: ['alan'], passes: null, decided: false, calls: [], outstanding: 25 })
    expect(council?.outcome).toEqual({ leaders: ['a', 'b'], passes: null, decided: false, calls: [], outstanding: 25 })
    // 18 of 27 is exactly 2/3: reached.
    expect(measure?.outcome).toEqual({ leaders: [], passes: true, decided: false, calls: [], outstanding: 15 })

    // Counting finished but nothing called yet: not decided (the workflow decides, not a read).
    expect(contestTotals({ ...base, finished: true }).map((c) => c.outcome?.decided)).toEqual([false, false, false])

    const call = (
      contestId: string,
      selectionId: string | null,
      outcome: ContestCall['outcome'],
      status: ContestCall['status'],
    ): ContestCall => ({
      contestId,
      selectionId,
      outcome,
      rule: 'test',
      figures: { votes: 0, against: 0, outstanding: 0 },
      calledAt: '2026-12-03T00:00:00.000Z',
      status,
      retraction: status === 'retracted' ? { at: '2026-12-03T00:00:01.000Z', reason: 'test' } : null,
    })
    const calls = [
      call('mayor', 'alan', 'elected', 'standing'),
      call('council', 'a', 'elected', 'standing'),
      call('city-q', null, 'passes', 'retracted'),
    ]
    const called = contestTotals({ ...base, finished: true, calls })
    // One seat of two is not the council decided; a retracted call decides nothing but stays shown.
    expect(called.map((c) => c.outcome?.decided)).toEqual([true, false, false])
    expect(called.map((c) => c.outcome?.calls.length)).toEqual([1, 1, 1])
  })

  it('agrees with contestResults fed the same counts cell by cell', () => {
    const perRegion = new Map([
      ['r1', { styleId: 'style-1', counts: r1 }],
      ['r2', { styleId: 'style-2', counts: r2 }],
      ['r3', { styleId: 'style-2', counts: r3 }],
    ])
    for (const finished of [false, true]) {
      const totals = byId(contestTotals({ ...base, finished }))
      for (const rules of resolved.contests) {
        const votes: VoteCell[] = []
        const ballots: BallotCell[] = []
        for (const [regionId, v] of perRegion) {
          const at = layouts.get(v.styleId)?.get(rules.id)
          if (at === undefined) continue
          const b = at - 1
          ballots.push({
            regionId,
            channel: 'mail',
            ballots: v.counts[b + SLOT.ballots] ?? 0,
            undervotes: v.counts[b + SLOT.undervotes] ?? 0,
            overvotes: v.counts[b + SLOT.overvotes] ?? 0,
          })
          rules.selections.forEach((s, i) => {
            votes.push({ regionId, channel: 'mail', selectionId: s.id, votes: v.counts[b + SLOT.firstSelection + i] ?? 0 })
          })
          if (rules.writeIns)
            votes.push({ regionId, channel: 'mail', selectionId: WRITE_IN_SELECTION, votes: v.counts[b + SLOT.writeIn] ?? 0 })
        }
        const route = contestResults({
          electionId: 'e',
          rules,
          votes,
          ballots,
          regions: (resolved.regionsOfContest.get(rules.id) ?? []).map((id) => ({
            id,
            name: id,
            state: 'S',
            registeredVoters: regions.find((r) => r.id === id)?.registeredVoters ?? 0,
          })),
          finished,
          calls: [],
        })
        const mine = totals.get(rules.id)
        expect(mine?.outcome).toEqual(route.outcome)
        expect(mine?.ballots).toBe(route.totals.ballots)
        expect(mine?.undervotes).toBe(route.totals.undervotes)
        expect(mine?.overvotes).toBe(route.totals.overvotes)
        expect(mine?.votes).toEqual(Object.fromEntries(route.selections.map((s) => [s.id, s.votes])))
        expect(mine?.threshold).toEqual(route.threshold)
      }
    }
  })

  it("adds the legacy tables' counts per contest and per line", () => {
    const totals = byId(
      contestTotals({
        ...base,
        legacyBallots: [
          { contestId: 'mayor', ballots: 5, undervotes: 1, overvotes: 0 },
          { contestId: 'council', ballots: 5, undervotes: 2, overvotes: 1 },
        ],
        legacyVotes: [
          { contestId: 'mayor', selectionId: 'ada', votes: 4 },
          { contestId: 'council', selectionId: 'c', votes: 4 },
          { contestId: 'council', selectionId: WRITE_IN_SELECTION, votes: 2 },
          // A contest the definition lacks is not invented.
          { contestId: 'gone', selectionId: 'x', votes: 9 },
        ],
      }),
    )
    expect(totals.get('mayor')).toMatchObject({ ballots: 75, undervotes: 3, overvotes: 1, votes: { ada: 36, alan: 35 } })
    expect(totals.get('mayor')?.outcome?.leaders).toEqual(['ada'])
    expect(totals.get('council')).toMatchObject({
      ballots: 75,
      undervotes: 20,
      overvotes: 4,
      votes: { a: 50, b: 35, c: 30, [WRITE_IN_SELECTION]: 7 },
    })
    expect(totals.get('city-q')).toMatchObject({ ballots: 30, votes: { yes: 18, no: 9 } })
    expect(totals.has('gone')).toBe(false)
  })

  it('suppresses a contest with fewer ballots than the minimum cell: counts and outcome null', () => {
    const totals = byId(contestTotals({ ...base, minCellBallots: 31 }))
    expect(totals.get('city-q')).toEqual({
      id: 'city-q',
      name: 'City question',
      type: 'measure',
      votesAllowed: 1,
      numberElected: 1,
      threshold: { numerator: 2, denominator: 3, rule: 'at-least' },
      ballots: null,
      undervotes: null,
      overvotes: null,
      votes: null,
      suppressed: true,
      outcome: null,
    })
    expect(totals.get('mayor')).toMatchObject({ suppressed: false, ballots: 70 })
    // Exactly the minimum is shown.
    expect(byId(contestTotals({ ...base, minCellBallots: 30 })).get('city-q')).toMatchObject({ suppressed: false, ballots: 30 })
  })

  it('shows a contest with no ballots yet as zeros (an empty cell reveals nothing), every region outstanding', () => {
    const totals = contestTotals({ ...base, styles: [], regions: regions.map((r) => ({ ...r, ballots: 0 })) })
    expect(totals.map((c) => [c.id, c.suppressed, c.ballots, c.votes, c.outcome])).toEqual([
      ['mayor', false, 0, { ada: 0, alan: 0 }, { leaders: [], passes: null, decided: false, calls: [], outstanding: 95 }],
      [
        'council',
        false,
        0,
        { a: 0, b: 0, c: 0, [WRITE_IN_SELECTION]: 0 },
        { leaders: [], passes: null, decided: false, calls: [], outstanding: 95 },
      ],
      ['city-q', false, 0, { yes: 0, no: 0 }, { leaders: [], passes: null, decided: false, calls: [], outstanding: 45 }],
    ])
  })

  it('refuses counts of a style with no stored layout rather than guessing where the blocks are', () => {
    expect(() => contestTotals({ ...base, styles: [{ styleId: 'style-9', counts: [1] }] })).toThrow(/style-9/)
  })
})
