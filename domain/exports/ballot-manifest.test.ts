import { describe, expect, it } from 'vitest'
import type { Channel, Marks } from '../ballot.ts'
import { electionDefinitionSchema, type ResolvedDefinition, resolveDefinition } from '../contests.ts'
import { cellBalances } from '../tabulation.ts'
import {
  ballotCounts,
  ballotManifest,
  ballotManifestCsv,
  batchTallies,
  batchTalliesCsv,
  DEFAULT_CONTAINER_SIZE,
  type ExportBallot,
  ExportSequence,
  sortForExport,
} from './ballot-manifest.ts'
import { cvrReport } from './cvr.ts'

// The hand-built election of cvr.test.ts: a vote-for-2 council with write-ins and a measure
// everywhere, a mayor in P1 only; two precincts, three channels, blanks, one overvote.
const P2 = '2:north.x'
const resolved = resolveDefinition(
  electionDefinitionSchema.parse({
    districts: [
      { id: 'county', name: 'County' },
      { id: 'city', name: 'City', regions: ['P1'] },
    ],
    contests: [
      {
        id: 'council',
        name: 'City Council',
        district: 'county',
        type: 'candidate',
        votesAllowed: 2,
        writeIns: true,
        candidates: [
          { id: 'ann', name: 'Lee, Ann', party: 'Dem' },
          { id: 'bob', name: 'Bob', party: 'Rep' },
          { id: 'cy', name: 'Cy' },
        ],
      },
      { id: 'prop-1', name: 'Proposition 1', district: 'county', type: 'measure' },
      {
        id: 'mayor',
        name: 'Mayor',
        district: 'city',
        type: 'candidate',
        candidates: [
          { id: 'dee', name: 'Dee' },
          { id: 'eve', name: 'Eve' },
        ],
      },
    ],
  }),
  ['P1', P2].map((id) => ({ id, state: 'S' })),
)
if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues))
const definition: ResolvedDefinition = resolved.resolved
const ballot = (regionId: string, channel: Channel, marks: Marks): ExportBallot => ({
  regionId,
  channel,
  styleId: definition.styleOfRegion.get(regionId) as string,
  marks,
})
const ballots: ExportBallot[] = [
  ballot('P1', 'election_day', { council: ['ann', 'bob'], 'prop-1': ['yes'], mayor: ['dee'] }),
  ballot('P1', 'early', { council: ['ann', { writeIn: 'Zed' }], 'prop-1': ['no'] }),
  ballot('P1', 'mail', { council: ['ann', 'bob', 'cy'], 'prop-1': ['yes'], mayor: ['eve'] }),
  ballot(P2, 'election_day', { council: ['cy'] }),
  ballot(P2, 'mail', { council: [{ writeIn: 'Zed' }, { writeIn: 'Amy' }], 'prop-1': ['yes'] }),
  ballot(P2, 'early', { council: [], 'prop-1': ['no'] }),
  ballot('P1', 'election_day', { council: ['bob'], 'prop-1': ['yes'], mayor: ['dee'] }),
]
const electionId = 'e:2026.gen'

describe('ballot manifest', () => {
  it("lists region × channel × container batches in Arlo's layout", () => {
    const manifest = ballotManifest({ electionId, counts: ballotCounts(ballots) })
    expect(manifest.containerSize).toBe(DEFAULT_CONTAINER_SIZE)
    expect(ballotManifestCsv(manifest)).toBe(
      [
        'Container,Tabulator,Batch Name,Number of Ballots',
        '2:north.x,election_day,2:north.x/election_day/1,1',
        '2:north.x,early,2:north.x/early/1,1',
        '2:north.x,mail,2:north.x/mail/1,1',
        'P1,election_day,P1/election_day/1,2',
        'P1,early,P1/early/1,1',
        'P1,mail,P1/mail/1,1',
        '',
      ].join('\r\n'),
    )
    expect(manifest.ballots).toBe(ballots.length)
  })

  it('cuts a cell into containers of at most N; the counts add up to the ballots', () => {
    const many = Array.from({ length: 1_201 }, (_, i) => ballot('P1', 'mail', { 'prop-1': [i % 3 === 0 ? 'no' : 'yes'] }))
    const all = [...many, ...ballots]
    const manifest = ballotManifest({ electionId, counts: ballotCounts(all) })
    expect(manifest.batches.filter((b) => b.regionId === 'P1' && b.channel === 'mail').map((b) => [b.name, b.ballots])).toEqual([
      ['P1/mail/1', 500],
      ['P1/mail/2', 500],
      ['P1/mail/3', 202],
    ])
    expect(manifest.batches.reduce((s, b) => s + b.ballots, 0)).toBe(all.length)
    for (const size of [1, 2, 3, 7]) {
      const m = ballotManifest({ electionId, counts: ballotCounts(ballots), containerSize: size })
      expect(m.ballots).toBe(ballots.length)
      expect(m.batches.every((b) => b.ballots >= 1 && b.ballots <= size)).toBe(true)
    }
    // Rows of one cell (e.g. one per partition) add up.
    expect(
      ballotManifest({
        electionId,
        counts: [
          { regionId: 'P1', channel: 'mail', ballots: 300 },
          { regionId: 'P1', channel: 'mail', ballots: 300 },
        ],
      }).batches.map((b) => b.ballots),
    ).toEqual([500, 100])
    expect(() => ballotManifest({ electionId, counts: [], containerSize: 0 })).toThrow(/container size/)
  })

  it("agrees with the cast vote records' batches and positions", () => {
    const many = Array.from({ length: 23 }, (_, i) => ballot(i % 2 ? 'P1' : P2, 'early', { 'prop-1': ['yes'] }))
    const all = [...ballots, ...many]
    const manifest = ballotManifest({ electionId, counts: ballotCounts(all), containerSize: 4 })
    const doc = cvrReport({
      election: { id: electionId, name: 'G', date: '2026-11-03', isTest: false, generatedAt: '2026-11-10T12:00:00Z' },
      definition,
      regions: [{ id: 'P1' }, { id: P2 }],
      ballots: all,
      containerSize: 4,
    }) as { CVR: Array<{ BatchId: string; BatchSequenceId: number }> }
    const inBatch = new Map<string, number[]>()
    for (const c of doc.CVR) inBatch.set(c.BatchId, [...(inBatch.get(c.BatchId) ?? []), c.BatchSequenceId])
    expect([...inBatch.keys()].sort()).toEqual(manifest.batches.map((b) => b.name).sort())
    for (const b of manifest.batches)
      expect((inBatch.get(b.name) ?? []).sort((x, y) => x - y)).toEqual(Array.from({ length: b.ballots }, (_, i) => i + 1))
  })

  it('places ballots by export order only, never by the order they came in', () => {
    const a = new ExportSequence(electionId, 2)
    const sorted = sortForExport(ballots, electionId)
    const places = sorted.map((b) => a.place(b))
    expect(places.map((p) => p.uniqueId)).toEqual(sorted.map((_, i) => String(i + 1)))
    const reversed = [...sorted].reverse()
    const b = new ExportSequence(electionId, 2)
    expect(() => reversed.map((x) => b.place(x))).toThrow(/export order/)
    expect(sortForExport([...ballots].reverse(), electionId)).toEqual(sorted)
  })
})

describe('batch tallies', () => {
  const tallies = batchTallies({ electionId, definition, ballots })
  const byId = new Map(tallies.map((t) => [t.contestId, t]))

  it('add up to the hand-computed contest totals, and every batch balances', () => {
    expect(byId.get('council')?.totals).toEqual({
      ballots: 7,
      votes: { ann: 2, bob: 2, cy: 1, 'write-in': 3 },
      overvotes: 1,
      undervotes: 4,
    })
    expect(byId.get('prop-1')?.totals).toEqual({ ballots: 7, votes: { yes: 4, no: 2 }, overvotes: 0, undervotes: 1 })
    expect(byId.get('mayor')?.totals).toEqual({ ballots: 4, votes: { dee: 2, eve: 1 }, overvotes: 0, undervotes: 1 })
    for (const t of tallies)
      for (const b of t.batches)
        expect(
          cellBalances({
            votesAllowed: t.votesAllowed,
            ballots: b.ballots,
            undervotes: b.undervotes,
            overvotes: b.overvotes,
            selectionVotes: Object.values(b.votes).reduce((s, v) => s + v, 0),
          }),
        ).toBe(true)
    // The mayor is on P1's ballots only: no batch of the other precinct.
    expect(byId.get('mayor')?.batches.map((b) => b.batch)).toEqual(['P1/election_day/1', 'P1/early/1', 'P1/mail/1'])
  })

  it("are written in Arlo's layout, one file per contest", () => {
    const council = byId.get('council')
    if (!council) throw new Error('no council')
    expect(batchTalliesCsv(council)).toBe(
      [
        'Batch Name,"Lee, Ann",Bob,Cy,Write-In',
        '2:north.x/election_day/1,0,0,1,0',
        '2:north.x/early/1,0,0,0,0',
        '2:north.x/mail/1,0,0,0,2',
        'P1/election_day/1,1,2,0,0',
        'P1/early/1,1,0,0,1',
        'P1/mail/1,0,0,0,0',
        '',
      ].join('\r\n'),
    )
    expect(batchTalliesCsv(council, { overUnder: true }).split('\r\n').slice(0, 2)).toEqual([
      'Batch Name,"Lee, Ann",Bob,Cy,Write-In,Overvotes,Undervotes',
      '2:north.x/election_day/1,0,0,1,0,0,1',
    ])
    expect(batchTalliesCsv(council, { overUnder: true }).split('\r\n')[6]).toBe('P1/mail/1,0,0,0,0,1,0')
  })

  it('are the same for any order of the ballots, and streamed in export order', () => {
    const reversed = batchTallies({ electionId, definition, ballots: [...ballots].reverse() })
    expect(reversed).toEqual(tallies)
    const streamed = batchTallies({ electionId, definition, ballots: sortForExport(ballots, electionId), ordered: true })
    expect(streamed).toEqual(tallies)
    // Per batch, they sum to the manifest's ballots.
    const manifest = ballotManifest({ electionId, counts: ballotCounts(ballots) })
    const council = byId.get('council')
    expect(council?.batches.map((b) => [b.batch, b.ballots])).toEqual(manifest.batches.map((b) => [b.name, b.ballots]))
  })
})
