import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nistValidator } from '../../lib/standards/nist-schemas.ts'
import { CHANNELS, type Channel, type Marks } from '../ballot.ts'
import { type ElectionDefinitionInput, electionDefinitionSchema, type ResolvedDefinition, resolveDefinition } from '../contests.ts'
import { type ExportBallot, sortForExport } from './ballot-manifest.ts'
import { type CvrReportInput, cvrIds, cvrReport, cvrReportChunks, cvrWriter } from './cvr.ts'
import { isNcname } from './ncname.ts'

// Validated against NIST's own file: standards/nist-1500-103-cvr.schema.json (SP 1500-103, draft-04).
const validate = nistValidator('cvr')

function resolve(definition: ElectionDefinitionInput, regions: string[]): ResolvedDefinition {
  const r = resolveDefinition(
    electionDefinitionSchema.parse(definition),
    regions.map((id) => ({ id, state: 'S' })),
  )
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.resolved
}

/**
 * The hand-built election: a vote-for-2 council with write-ins and a measure everywhere, a
 * mayor in P1 only; two precincts (one whose id starts with a digit and holds ':' and '.'),
 * three channels, blank contests and one overvote.
 */
const P2 = '2:north.x'
const definition = resolve(
  {
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
          { id: 'dee', name: 'Dee', party: 'Dem' },
          { id: 'eve', name: 'Eve' },
        ],
      },
    ],
  },
  ['P1', P2],
)
const styleOf = (r: string) => definition.styleOfRegion.get(r) as string
const ballot = (regionId: string, channel: Channel, marks: Marks): ExportBallot => ({
  regionId,
  channel,
  styleId: styleOf(regionId),
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
const election = { id: 'e:2026.gen', name: 'General 2026', date: '2026-11-03', isTest: true, generatedAt: '2026-11-10T12:00:00.000Z' }
const input = (bs: Iterable<ExportBallot> = ballots, extra: Partial<CvrReportInput> = {}): CvrReportInput => ({
  election,
  definition,
  regions: [
    { id: 'P1', name: 'Precinct 1' },
    { id: P2, name: 'North 2' },
  ],
  ballots: bs,
  ...extra,
})

// biome-ignore lint/suspicious/noExplicitAny: the report is read as the JSON it is, and the schema validator has checked its shape
type Doc = Record<string, any>
const report = (i: CvrReportInput): Doc => cvrReport(i)

/** What the schema cannot check: every @id an NCName and unique, every reference resolving to an object of the right kind. */
function referenceProblems(doc: Doc): string[] {
  const problems: string[] = []
  const ids = new Map<string, string>()
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit)
    else if (v && typeof v === 'object') {
      const o = v as Doc
      if (typeof o['@id'] === 'string') {
        if (!isNcname(o['@id'])) problems.push(`${o['@id']} is not an NCName`)
        if (ids.has(o['@id'])) problems.push(`${o['@id']} twice`)
        ids.set(o['@id'], o['@type'])
      }
      Object.values(o).forEach(visit)
    }
  }
  visit(doc)
  const ref = (id: unknown, types: string[], where: string) => {
    if (typeof id !== 'string' || !types.includes(ids.get(id) ?? '')) problems.push(`${where}: ${String(id)} is not a ${types.join('/')}`)
  }
  for (const d of doc.ReportGeneratingDeviceIds) ref(d, ['CVR.ReportingDevice'], 'ReportGeneratingDeviceIds')
  for (const e of doc.Election) {
    ref(e.ElectionScopeId, ['CVR.GpUnit'], 'ElectionScopeId')
    for (const c of e.Candidate ?? []) if (c.PartyId) ref(c.PartyId, ['CVR.Party'], 'PartyId')
    for (const c of e.Contest)
      for (const s of c.ContestSelection) for (const k of s.CandidateIds ?? []) ref(k, ['CVR.Candidate'], 'CandidateIds')
  }
  for (const cvr of doc.CVR ?? []) {
    ref(cvr.ElectionId, ['CVR.Election'], 'ElectionId')
    ref(cvr.BallotStyleUnitId, ['CVR.GpUnit'], 'BallotStyleUnitId')
    ref(cvr.CreatingDeviceId, ['CVR.ReportingDevice'], 'CreatingDeviceId')
    ref(cvr.CurrentSnapshotId, ['CVR.CVRSnapshot'], 'CurrentSnapshotId')
    for (const snap of cvr.CVRSnapshot)
      for (const c of snap.CVRContest ?? []) {
        ref(c.ContestId, ['CVR.CandidateContest', 'CVR.BallotMeasureContest'], 'ContestId')
        for (const s of c.CVRContestSelection ?? [])
          ref(s.ContestSelectionId, ['CVR.CandidateSelection', 'CVR.BallotMeasureSelection'], 'ContestSelectionId')
      }
  }
  return problems
}

function expectConforms(doc: Doc) {
  const problems = validate(doc)
  if (problems.length > 0) console.error('NIST 1500-103 schema problems:', JSON.stringify(problems.slice(0, 20), null, 2))
  expect(problems).toEqual([])
  const refs = referenceProblems(doc)
  if (refs.length > 0) console.error('reference problems:', refs.slice(0, 20))
  expect(refs).toEqual([])
}

/** A record read back the way an auditor would: precinct, channel, and per contest what counts. */
function summary(doc: Doc, cvr: Doc) {
  const contestIds = new Map<string, string>()
  const selectionIds = new Map<string, string>()
  for (const c of doc.Election[0].Contest) {
    contestIds.set(c['@id'], c.Name)
    for (const s of c.ContestSelection)
      selectionIds.set(s['@id'], s.Selection ?? (s.IsWriteIn && !s.CandidateIds ? 'write-in' : s.CandidateIds[0]))
  }
  const gp = new Map<string, string>(doc.GpUnit.map((g: Doc) => [g['@id'], g.Name]))
  const snap = cvr.CVRSnapshot.find((s: Doc) => s['@id'] === cvr.CurrentSnapshotId)
  return {
    precinct: gp.get(cvr.BallotStyleUnitId),
    channel: cvr.BatchId.split('/')[1],
    contests: Object.fromEntries(
      snap.CVRContest.map((c: Doc) => [
        contestIds.get(c.ContestId),
        {
          marks: (c.CVRContestSelection ?? []).flatMap((s: Doc) =>
            s.SelectionPosition.map(
              (p: Doc) =>
                `${selectionIds.get(s.ContestSelectionId)}${p.CVRWriteIn ? `:${p.CVRWriteIn.Text}` : ''}${p.IsAllocable === 'no' ? '(no)' : ''}`,
            ),
          ),
          over: c.Overvotes,
          under: c.Undervotes,
        },
      ]),
    ),
  }
}

describe('cast vote records (NIST SP 1500-103)', () => {
  it('validate against NIST schema, with NCName ids and references that resolve', () => {
    expectConforms(report(input()))
  })

  it('carry exactly the hand-computed selections, overvotes and undervotes', () => {
    const doc = report(input())
    const got = doc.CVR.map((c: Doc) => JSON.stringify(summary(doc, c))).sort()
    const c = (marks: string[], under: number, over = 0) => ({ marks, over, under })
    const candidate = (id: string) => cvrIds.candidate(['dee', 'eve'].includes(id) ? 'mayor' : 'council', id)
    const expected = [
      {
        precinct: 'Precinct 1',
        channel: 'election_day',
        contests: {
          'City Council': c([candidate('ann'), candidate('bob')], 0),
          'Proposition 1': c(['Yes'], 0),
          Mayor: c([candidate('dee')], 0),
        },
      },
      {
        precinct: 'Precinct 1',
        channel: 'early',
        contests: { 'City Council': c([candidate('ann'), 'write-in:Zed'], 0), 'Proposition 1': c(['No'], 0), Mayor: c([], 1) },
      },
      {
        precinct: 'Precinct 1',
        channel: 'mail',
        contests: {
          'City Council': c([`${candidate('ann')}(no)`, `${candidate('bob')}(no)`, `${candidate('cy')}(no)`], 0, 2),
          'Proposition 1': c(['Yes'], 0),
          Mayor: c([candidate('eve')], 0),
        },
      },
      { precinct: 'North 2', channel: 'election_day', contests: { 'City Council': c([candidate('cy')], 1), 'Proposition 1': c([], 1) } },
      {
        precinct: 'North 2',
        channel: 'mail',
        contests: { 'City Council': c(['write-in:Amy', 'write-in:Zed'], 0), 'Proposition 1': c(['Yes'], 0) },
      },
      { precinct: 'North 2', channel: 'early', contests: { 'City Council': c([], 2), 'Proposition 1': c(['No'], 0) } },
      {
        precinct: 'Precinct 1',
        channel: 'election_day',
        contests: { 'City Council': c([candidate('bob')], 1), 'Proposition 1': c(['Yes'], 0), Mayor: c([candidate('dee')], 0) },
      },
    ]
      .map((e) => JSON.stringify(e))
      .sort()
    expect(got).toEqual(expected)
  })

  it('maps the definition: contests, selections, write-in line, parties, precincts, the test flag', () => {
    const doc = report(input())
    const [e] = doc.Election
    expect(e.Contest.map((c: Doc) => [c['@type'], c['@id'], c.VotesAllowed, c.VoteVariation])).toEqual([
      ['CVR.CandidateContest', 'contest-council', 2, 'n-of-m'],
      ['CVR.BallotMeasureContest', 'contest-prop-1', undefined, 'majority'],
      ['CVR.CandidateContest', 'contest-mayor', 1, 'plurality'],
    ])
    expect(e.Contest[0].ContestSelection.at(-1)).toEqual({
      '@id': 'selection-council_-write-in',
      '@type': 'CVR.CandidateSelection',
      IsWriteIn: true,
    })
    expect(doc.Party.map((p: Doc) => p.Name)).toEqual(['Dem', 'Rep'])
    expect(doc.GpUnit.map((g: Doc) => [g['@id'], g.Type])).toEqual([
      ['scope-e_3a_2026.gen', 'other'],
      ['precinct-P1', 'precinct'],
      ['precinct-2_3a_north.x', 'precinct'],
    ])
    expect(e['@id']).toBe('election-e_3a_2026.gen')
    expect(doc.Notes).toContain('TEST ELECTION')
    const overvoted = doc.CVR.flatMap((c: Doc) => c.CVRSnapshot[0].CVRContest).find((c: Doc) => c.Overvotes > 0)
    expect(overvoted.Status).toEqual(['overvoted'])
    expect(overvoted.CVRContestSelection.every((s: Doc) => s.SelectionPosition.every((p: Doc) => p.IsAllocable === 'no'))).toBe(true)
    for (const cvr of doc.CVR) expect(cvr.CVRSnapshot).toHaveLength(1)
  })

  it('streams the same bytes as the whole document', () => {
    const whole = JSON.stringify(report(input()))
    for (const per of [1, 2, 3, 256]) expect([...cvrReportChunks(input(), per)].join('')).toBe(whole)
    const sorted = sortForExport(ballots, election.id)
    expect([...cvrReportChunks(input(sorted, { ordered: true }), 2)].join('')).toBe(whole)
    expect([...cvrReportChunks(input([], {}))].join('')).toBe(JSON.stringify(report(input([]))))
    // Record by record, as the box is read through a cursor.
    for (const list of [sorted, []]) {
      const writer = cvrWriter(input())
      expect(writer.open + list.map((b) => writer.record(b)).join('') + writer.close).toBe(JSON.stringify(report(input(list))))
    }
  })

  it('refuses, when told the ballots are ordered, ballots out of export order', () => {
    const sorted = sortForExport(ballots, election.id)
    const swapped = [sorted[1], sorted[0], ...sorted.slice(2)] as ExportBallot[]
    expect(() => [...cvrReportChunks(input(swapped, { ordered: true }))]).toThrow(/export order/)
  })

  it('hold nothing from which arrival order or a voter could be read', () => {
    const whole = JSON.stringify(report(input()))
    // Any arrival order gives the same document.
    for (const seed of [1, 2, 3, 4, 5]) expect(JSON.stringify(report(input(shuffle(ballots, seed))))).toBe(whole)
    // Ballots read with what the box never holds (as if a careless reader passed them on): none of it comes out.
    const leaky = ballots.map((b, i) => ({
      ...b,
      voterId: `voter-${i}`,
      ballotId: `0000000${i}-aaaa-4bbb-8ccc-dddddddddddd`,
      castAt: `2026-11-03T0${i}:15:00.000Z`,
      offset: 1000 + i,
    }))
    const out = JSON.stringify(report(input(leaky)))
    expect(out).toBe(whole)
    for (const l of leaky) for (const v of [l.voterId, l.ballotId, l.castAt, String(l.offset)]) expect(out).not.toContain(v)
    // The only instant in the file is the report's GeneratedDate.
    expect(out.match(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/g)).toEqual([election.generatedAt.slice(0, 16)])
    const doc = JSON.parse(out)
    const allowed = [
      '@type',
      'BallotStyleId',
      'BallotStyleUnitId',
      'BatchId',
      'BatchSequenceId',
      'CVRSnapshot',
      'CreatingDeviceId',
      'CurrentSnapshotId',
      'ElectionId',
      'UniqueId',
    ]
    for (const cvr of doc.CVR) expect(Object.keys(cvr).every((k) => allowed.includes(k))).toBe(true)
  })

  it('uses the box ids, when given, as UniqueIds, in id order whatever order they come in', () => {
    const withIds = ballots.map((b, i) => ({ ...b, id: `${(7 - i).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000` }))
    const doc = report(input(withIds))
    expectConforms(doc)
    const uniqueIds = doc.CVR.map((c: Doc) => c.UniqueId)
    expect(uniqueIds).toEqual(withIds.map((b) => b.id).sort())
    expect(JSON.stringify(report(input(shuffle(withIds, 9))))).toBe(JSON.stringify(doc))
    expect(() => report(input([...withIds.slice(1), ballots[0] as ExportBallot]))).toThrow(/box id/)
  })

  it('refuses a ballot the counter would not have counted, or of another style', () => {
    expect(() => report(input([ballot('P1', 'mail', { council: ['zoe'] })]))).toThrow(/unknown_selection/)
    expect(() => report(input([{ ...ballot('P1', 'mail', {}), styleId: styleOf(P2) }]))).toThrow(/style/)
  })

  it('any random election and ballots give a schema-valid report (property)', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,5}$/)
    const name = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => /^[^\p{Cc}]+$/u.test(s))
    const candidate = fc.record({
      id: id.filter((s) => s !== 'write-in'),
      name,
      party: fc.option(fc.constantFrom('Dem', 'Rep', 'Green:1'), { nil: undefined }),
      writeIn: fc.boolean(),
    })
    const contest = fc.oneof(
      fc.record({
        id,
        name,
        type: fc.constant('candidate' as const),
        district: fc.constantFrom('all', 'first'),
        votesAllowed: fc.integer({ min: 1, max: 3 }),
        writeIns: fc.boolean(),
        candidates: fc.uniqueArray(candidate, { minLength: 1, maxLength: 4, selector: (c) => c.id }),
      }),
      fc.record({
        id,
        name,
        type: fc.constant('measure' as const),
        district: fc.constantFrom('all', 'first'),
        threshold: fc.constantFrom('1/2', '2/3', '1/3'),
      }),
    )
    const rawBallot = fc.record({
      region: fc.nat(),
      channel: fc.constantFrom(...CHANNELS),
      picks: fc.array(fc.array(fc.nat(), { maxLength: 4 }), { maxLength: 4 }),
      names: fc.array(fc.array(name, { maxLength: 2 }), { maxLength: 4 }),
      blankAs: fc.constantFrom('absent', 'empty'),
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(id, { minLength: 1, maxLength: 3 }),
        fc.uniqueArray(contest, { minLength: 1, maxLength: 4, selector: (c) => c.id }),
        fc.array(rawBallot, { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        (regions, contests, raws, containerSize) => {
          const fixed = contests.map((c, i) => {
            const base = i === 0 ? { ...c, district: 'all' } : c
            if (base.type !== 'candidate') return base
            const lines = base.candidates.length + (base.writeIns ? base.votesAllowed : 0)
            return { ...base, votesAllowed: Math.min(base.votesAllowed, Math.max(1, base.writeIns ? lines : base.candidates.length)) }
          })
          const def = resolve(
            {
              districts: [
                { id: 'all', name: 'All' },
                { id: 'first', name: 'First', regions: [regions[0] as string] },
              ],
              contests: fixed,
            },
            regions,
          )
          const bs = raws.map((r) => {
            const regionId = regions[r.region % regions.length] as string
            const styleId = def.styleOfRegion.get(regionId) as string
            const marks: Marks = {}
            for (const [i, contestId] of (def.styles.get(styleId) ?? []).entries()) {
              const rules = def.contests.find((c) => c.id === contestId)
              if (!rules) continue
              const ids = [...new Set((r.picks[i] ?? []).map((p) => rules.selections[p % rules.selections.length]?.id as string))]
              const names = rules.writeIns ? (r.names[i] ?? []).map((writeIn) => ({ writeIn: writeIn.trim() || 'x' })) : []
              const made = [...ids, ...names]
              if (made.length > 0 || r.blankAs === 'empty') marks[contestId] = made
            }
            return { regionId, channel: r.channel, styleId, marks }
          })
          const generated = {
            election: { ...election, isTest: false },
            definition: def,
            regions: regions.map((id) => ({ id })),
            ballots: bs,
            containerSize,
          }
          const doc = report(generated)
          expectConforms(doc)
          expect(doc.CVR).toHaveLength(bs.length)
          expect([...cvrReportChunks(generated, 3)].join('')).toBe(JSON.stringify(doc))
          // Per record and contest: allocated + Undervotes + Overvotes = votes allowed.
          const allowed = new Map(def.contests.map((c) => [cvrIds.contest(c.id), c.votesAllowed]))
          for (const cvr of doc.CVR)
            for (const c of cvr.CVRSnapshot[0].CVRContest) {
              const allocated = (c.CVRContestSelection ?? [])
                .flatMap((s: Doc) => s.SelectionPosition)
                .filter((p: Doc) => p.IsAllocable === 'yes').length
              expect(allocated + c.Undervotes + c.Overvotes).toBe(allowed.get(c.ContestId))
            }
        },
      ),
      { numRuns: 60 },
    )
  })
})

/** A deterministic shuffle (Fisher–Yates with a small LCG). */
function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs]
  let s = seed
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

describe('a ranked-choice contest in the cast vote records', () => {
  const ranked = resolve(
    {
      districts: [{ id: 'county', name: 'County' }],
      contests: [
        {
          id: 'mayor',
          name: 'Mayor (ranked)',
          district: 'county',
          type: 'candidate',
          candidates: ['ann', 'bo', 'cy'].map((id) => ({ id, name: id })),
          rcv: {
            ranksAllowed: 3,
            overvoteRule: 'alwaysSkipToNextRank',
            maxSkippedRanksAllowed: 'unlimited',
            tiebreakMode: 'random',
            tiebreakSeed: '1',
          },
        },
      ],
    },
    ['P1'],
  )
  // As the counter boxes them: canonical rankings (tabulation.ts), a blank contest left out.
  const boxed: ExportBallot[] = [
    { regionId: 'P1', channel: 'mail', styleId: ranked.styleOfRegion.get('P1') as string, marks: { mayor: [['bo'], [], ['ann', 'cy']] } },
    { regionId: 'P1', channel: 'mail', styleId: ranked.styleOfRegion.get('P1') as string, marks: {} },
  ]
  const doc = report({ election, definition: ranked, regions: [{ id: 'P1', name: 'P1' }], ballots: boxed })

  it('is valid against NIST 1500-103 and names the contest rcv', () => {
    expectConforms(doc)
    expect(referenceProblems(doc)).toEqual([])
    expect(doc.Election[0].Contest[0].VoteVariation).toBe('rcv')
  })

  it('gives each candidate a position at each rank it was marked at, an overvoted rank to each of its candidates', () => {
    const contests = doc.CVR.map((c: Doc) => c.CVRSnapshot[0].CVRContest[0])
    const ranks = (c: Doc) =>
      Object.fromEntries((c.CVRContestSelection ?? []).map((s: Doc) => [s.ContestSelectionId, s.SelectionPosition.map((p: Doc) => p.Rank)]))
    const marked = contests.find((c: Doc) => c.CVRContestSelection)
    const blank = contests.find((c: Doc) => !c.CVRContestSelection)
    expect(ranks(marked)).toEqual({
      [cvrIds.selection('mayor', 'bo')]: [1],
      [cvrIds.selection('mayor', 'ann')]: [3],
      [cvrIds.selection('mayor', 'cy')]: [3],
    })
    expect(blank).toMatchObject({ Undervotes: 1, Status: ['not-indicated', 'undervoted'] })
  })
})
