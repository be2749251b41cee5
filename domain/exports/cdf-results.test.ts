import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nistValidator } from '../../lib/standards/nist-schemas.ts'
import { CHANNELS } from '../ballot.ts'
import { type BallotCell, contestResults, type RegionInfo, type VoteCell } from '../contest-results.ts'
import { type ContestRules, WRITE_IN_SELECTION } from '../contests.ts'
import { ELECTION_STATUSES, REPORTING_STATUSES } from '../election.ts'
import {
  CDF_COUNT_TYPE,
  type CdfContestInput,
  type CdfElectionReport,
  type CdfResultsInput,
  type CdfVoteCounts,
  cdfIds,
  cdfResultsReport,
  cdfResultsStatus,
} from './cdf-results.ts'
import { isNcname, ncname, parseNcname } from './ncname.ts'

/**
 * The NIST SP 1500-100 Rev. 2 results export, validated against NIST's own schema
 * (standards/nist-1500-100-v2-results.schema.json, through lib/standards/nist-schemas.ts).
 */

const validate = nistValidator('results')

function expectValid(doc: unknown) {
  const problems = validate(doc)
  if (problems.length > 0) console.error(JSON.stringify(problems.slice(0, 20), null, 2))
  expect(problems).toEqual([])
}

/** Every `@id` is an NCName and unique; every reference names an object of the document. */
function expectIdsSound(doc: CdfElectionReport) {
  const ids: string[] = []
  const refs: string[] = []
  const walk = (v: unknown, key: string) => {
    if (Array.isArray(v)) for (const x of v) walk(x, key)
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
    else if (typeof v === 'string') {
      if (key === '@id') ids.push(v)
      else if (/(Id|Ids)$/.test(key) && key !== 'VendorApplicationId') refs.push(v)
    }
  }
  walk(doc, '')
  expect(ids.filter((id) => !isNcname(id))).toEqual([])
  expect(ids.length).toBe(new Set(ids).size)
  const known = new Set(ids)
  expect(refs.filter((r) => !known.has(r))).toEqual([])
}

// --- A hand-built election: two states, four precincts, a vote-for-2 council, a 2/3 measure ---

const REGIONS: RegionInfo[] = [
  { id: '1:north', name: 'North 1', state: 'North', registeredVoters: 100 },
  { id: 'north.2', name: 'North 2', state: 'North', registeredVoters: 90 },
  { id: 's:1', name: 'South 1', state: 'South', registeredVoters: 80 },
  { id: 's_2', name: 'South 2', state: 'South', registeredVoters: 60 },
]

const COUNCIL: ContestRules = {
  id: 'council',
  name: 'City Council',
  type: 'candidate',
  district: 'city',
  position: 0,
  votesAllowed: 2,
  numberElected: 2,
  writeIns: true,
  selections: [
    { id: 'alice', name: 'Alice Ash', party: 'Green: Left', writeIn: false },
    { id: 'bob', name: 'Bob Birch', party: 'Blue', writeIn: false },
    { id: '7carol', name: 'Carol Cedar', party: null, writeIn: false },
  ],
  threshold: null,
}

const MEASURE: ContestRules = {
  id: 'measure:a',
  name: 'Measure A',
  type: 'measure',
  district: 'south',
  position: 1,
  votesAllowed: 1,
  numberElected: 1,
  writeIns: false,
  selections: [
    { id: 'yes', name: 'Yes', party: null, writeIn: false },
    { id: 'no', name: 'No', party: null, writeIn: false },
  ],
  threshold: { numerator: 2, denominator: 3 },
}

/** Council ballots of one kind: AB = alice + bob, BW = bob + a write-in, A = alice alone, '-' blank, X = overvoted. */
const KINDS: Record<string, string[]> = {
  AB: ['alice', 'bob'],
  AC: ['alice', '7carol'],
  BW: ['bob', WRITE_IN_SELECTION],
  A: ['alice'],
  '-': [],
  X: ['alice', 'bob', '7carol'],
}
type Pattern = Partial<Record<keyof typeof KINDS, number>>

/** Council ballots per region × channel. */
const COUNCIL_BALLOTS: Record<string, Partial<Record<(typeof CHANNELS)[number], Pattern>>> = {
  '1:north': {
    election_day: { AB: 15, AC: 10, BW: 8, A: 4, '-': 2, X: 1 }, // 40
    early: { AB: 5, AC: 3, BW: 2, A: 1, '-': 1 }, // 12
    mail: { AC: 3 }, // 3: a small cell — all three voted Alice and Carol
  },
  'north.2': {
    election_day: { AB: 12, AC: 8, BW: 6, A: 2, '-': 1, X: 1 }, // 30
    early: { AB: 6, AC: 4, BW: 3, A: 2 }, // 15
    mail: { AB: 8, AC: 6, BW: 4, A: 1, '-': 1 }, // 20
  },
  's:1': {
    election_day: { AB: 10, AC: 8, BW: 5, A: 4, '-': 2, X: 1 }, // 30
    early: { AB: 4, AC: 3, BW: 2, A: 1 }, // 10
    mail: { AB: 5, AC: 2, BW: 1, A: 2, '-': 1 }, // 11
  },
  s_2: {
    election_day: { AB: 10, AC: 5, BW: 5, A: 3, '-': 1, X: 1 }, // 25
    mail: { AB: 6, AC: 4, BW: 2, A: 1, '-': 1 }, // 14
  },
}

/** Measure votes per region × channel: [yes, no, undervotes, overvotes] (the South only). */
const MEASURE_BALLOTS: Record<string, Partial<Record<(typeof CHANNELS)[number], [number, number, number, number]>>> = {
  's:1': { election_day: [20, 8, 1, 1], early: [6, 3, 1, 0], mail: [7, 4, 0, 0] },
  s_2: { election_day: [15, 9, 1, 0], mail: [10, 4, 0, 0] },
}

/** Counts the way the counter does: a ballot with more marks than allowed is an overvote, unused votes are undervotes. */
function tabulate(rules: ContestRules, regionId: string, channel: string, ballots: string[][]): { votes: VoteCell[]; ballot: BallotCell } {
  const votes = new Map<string, number>()
  let undervotes = 0
  let overvotes = 0
  for (const marks of ballots) {
    if (marks.length > rules.votesAllowed) overvotes++
    else {
      undervotes += rules.votesAllowed - marks.length
      for (const m of marks) votes.set(m, (votes.get(m) ?? 0) + 1)
    }
  }
  return {
    votes: [...votes].map(([selectionId, n]) => ({ regionId, channel, selectionId, votes: n })),
    ballot: { regionId, channel, ballots: ballots.length, undervotes, overvotes },
  }
}

function handBuilt(overrides: Partial<CdfResultsInput['election']> = {}, minCellBallots?: number): CdfResultsInput {
  const council: CdfContestInput = { rules: COUNCIL, regions: REGIONS.map((r) => r.id), votes: [], ballots: [] }
  for (const [regionId, byChannel] of Object.entries(COUNCIL_BALLOTS))
    for (const [channel, pattern] of Object.entries(byChannel)) {
      const ballots = Object.entries(pattern).flatMap(([kind, n]) => Array.from({ length: n ?? 0 }, () => KINDS[kind] as string[]))
      const t = tabulate(COUNCIL, regionId, channel, ballots)
      council.votes.push(...t.votes)
      council.ballots.push(t.ballot)
    }
  const measure: CdfContestInput = { rules: MEASURE, regions: ['s:1', 's_2'], votes: [], ballots: [] }
  for (const [regionId, byChannel] of Object.entries(MEASURE_BALLOTS))
    for (const [channel, [yes, no, under, over]] of Object.entries(byChannel) as Array<[string, [number, number, number, number]]>) {
      measure.votes.push({ regionId, channel, selectionId: 'yes', votes: yes }, { regionId, channel, selectionId: 'no', votes: no })
      measure.ballots.push({ regionId, channel, ballots: yes + no + under + over, undervotes: under, overvotes: over })
    }
  return {
    election: { id: '2026:city', name: 'City Election 2026', date: '2026-11-03', status: 'closed', isTest: false, ...overrides },
    generatedAt: '2026-11-04T06:30:00.123Z',
    issuer: 'Riverside County Elections',
    jurisdiction: { name: 'Riverside' },
    regions: REGIONS,
    districts: [
      { id: 'city', name: 'City of Riverside', level: 'city' },
      { id: 'south', name: 'South Water District', level: 'special' },
    ],
    contests: [council, measure],
    turnout: [
      { regionId: '1:north', ballots: 55 },
      { regionId: 'north.2', ballots: 65 },
      { regionId: 's:1', ballots: 51 },
      { regionId: 's_2', ballots: 39 },
    ],
    ...(minCellBallots === undefined ? {} : { minCellBallots }),
  }
}

const contestOf = (doc: CdfElectionReport, id: string) => doc.Election[0]?.Contest.find((c) => c['@id'] === cdfIds.contest(id))
const selectionOf = (doc: CdfElectionReport, contest: string, selection: string) =>
  contestOf(doc, contest)?.ContestSelection.find((s) => s['@id'] === cdfIds.selection(contest, selection))
/** The counts of one selection at one unit: type → Count, or 'hidden'. */
function countsAt(doc: CdfElectionReport, contest: string, selection: string, unit: string): Record<string, number | 'hidden'> {
  const vcs = (selectionOf(doc, contest, selection)?.VoteCounts ?? []).filter((v) => v.GpUnitId === unit)
  return Object.fromEntries(vcs.map((v) => [v.Type, v.IsSuppressedForPrivacy ? 'hidden' : v.Count]))
}
const P = (id: string) => cdfIds.precinct(id)
const NORTH = cdfIds.group('North')
const SOUTH = cdfIds.group('South')
const TOP = cdfIds.jurisdiction('2026:city')

describe('cdfResultsReport: a hand-built election', () => {
  const doc = cdfResultsReport(handBuilt())

  it("validates against NIST's schema, with NCName ids that all resolve", () => {
    expectValid(doc)
    expectIdsSound(doc)
    expect(doc.Format).toBe('precinct-level')
    expect(doc.GeneratedDate).toBe('2026-11-04T06:30:00Z')
    expect(doc.IssuerAbbreviation).toBe('RCE')
  })

  // The sums with no minimum (nothing hidden); what a minimum hides is the test after these two.
  const open = cdfResultsReport(handBuilt({}, 1))

  it("gives a precinct's counts per vote type, and the sums at the state and the top", () => {
    // South 1: election day 22, early 8, mail 9 votes for Alice.
    expect(countsAt(open, 'council', 'alice', P('s:1'))).toEqual({ 'election-day': 22, early: 8, 'absentee-mail': 9, total: 39 })
    expect(countsAt(open, 'council', WRITE_IN_SELECTION, P('s:1'))).toEqual({ 'election-day': 5, early: 2, 'absentee-mail': 1, total: 8 })
    expect(countsAt(open, 'council', 'alice', SOUTH)).toEqual({ 'election-day': 40, early: 8, 'absentee-mail': 20, total: 68 })
    expect(countsAt(open, 'council', 'alice', NORTH)).toEqual({ 'election-day': 51, early: 21, 'absentee-mail': 18, total: 90 })
    expect(countsAt(open, 'council', 'alice', TOP)).toEqual({ 'election-day': 91, early: 29, 'absentee-mail': 38, total: 158 })
    expect(countsAt(open, 'council', '7carol', TOP).total).toBe(56)
    expect(countsAt(open, 'measure:a', 'yes', P('s_2'))).toEqual({ 'election-day': 15, early: 0, 'absentee-mail': 10, total: 25 })
    expect(countsAt(open, 'measure:a', 'no', TOP)).toEqual({ 'election-day': 17, early: 3, 'absentee-mail': 8, total: 28 })
    // With the default minimum the top's counts are all shown still (every one covers 10 ballots or more).
    expect(countsAt(doc, 'council', 'alice', TOP)).toEqual({ 'election-day': 91, early: 29, 'absentee-mail': 38, total: 158 })
  })

  it('gives overvotes, undervotes and write-ins per unit', () => {
    const other = (d: CdfElectionReport, contest: string, unit: string) =>
      contestOf(d, contest)?.OtherCounts.find((o) => o.GpUnitId === unit)
    expect(other(open, 'council', P('s:1'))).toMatchObject({ Overvotes: 1, Undervotes: 13, WriteIns: 8 })
    expect(other(open, 'council', SOUTH)).toMatchObject({ Overvotes: 2, Undervotes: 21, WriteIns: 15 })
    expect(other(open, 'council', TOP)).toMatchObject({ Overvotes: 4, Undervotes: 41, WriteIns: 38 })
    expect(other(open, 'measure:a', TOP)).toMatchObject({ Overvotes: 1, Undervotes: 3, WriteIns: 0 })
    // The measure is not on the North's ballots.
    expect(other(open, 'measure:a', NORTH)).toBeUndefined()
    // A unit whose total is hidden has none (OtherCounts carry no suppression flag): North 1 below.
    expect(other(doc, 'council', P('1:north'))).toBeUndefined()
    expect(other(doc, 'council', TOP)).toMatchObject({ Overvotes: 4, Undervotes: 41, WriteIns: 38 })
  })

  it('hides the 3-ballot mail cell of North 1, and enough others that no sum gives it back', () => {
    // The per-contest page hides North 1 (55 ballots, but a mail cell of 3 that its margins
    // could pin) and, so that the contest's total minus the regions shown does not give it
    // back, South 2 (39, the smallest other): both precinct totals are hidden here too.
    expect(countsAt(doc, 'council', 'alice', P('1:north'))).toEqual({
      'election-day': 29,
      early: 9,
      'absentee-mail': 'hidden',
      total: 'hidden',
    })
    expect(countsAt(doc, 'council', 'alice', P('s_2'))).toEqual({
      'election-day': 18,
      early: 0,
      'absentee-mail': 'hidden',
      total: 'hidden',
    })
    // …the North's mail minus North 2's would give it: North 2's mail and early are hidden, and the North's mail.
    expect(countsAt(doc, 'council', 'alice', P('north.2'))).toEqual({
      'election-day': 22,
      early: 'hidden',
      'absentee-mail': 'hidden',
      total: 49,
    })
    expect(countsAt(doc, 'council', 'alice', NORTH)).toEqual({
      'election-day': 51,
      early: 'hidden',
      'absentee-mail': 'hidden',
      total: 'hidden',
    })
    const hidden = (selectionOf(doc, 'council', 'alice')?.VoteCounts ?? []).filter((v) => v.IsSuppressedForPrivacy)
    expect(hidden.every((v) => v.Count === 0)).toBe(true)
    expect(hidden.some((v) => v.GpUnitId === TOP)).toBe(false)
    // With no minimum nothing is hidden, and the 3 ballots are there.
    expect(countsAt(open, 'council', 'alice', P('1:north'))).toEqual({ 'election-day': 29, early: 9, 'absentee-mail': 3, total: 41 })
    // The page itself: North 1 and South 2 suppressed, the others shown.
    const page = contestResults({
      electionId: '2026:city',
      rules: COUNCIL,
      votes: handBuilt().contests[0]?.votes ?? [],
      ballots: handBuilt().contests[0]?.ballots ?? [],
      regions: REGIONS,
      finished: true,
      calls: [],
    })
    expect(page.regions.filter((r) => r.suppressed).map((r) => r.id)).toEqual(['1:north', 's_2'])
  })

  it('describes the units: the hierarchy, precincts reporting, registered voters and ballots cast', () => {
    const unit = (id: string) => doc.GpUnit.find((u) => u['@id'] === id)
    expect(unit(TOP)).toMatchObject({
      Type: 'country',
      ComposingGpUnitIds: [NORTH, SOUTH],
      TotalSubUnits: 4,
      SubUnitsReported: 4,
      VotersRegistered: 330,
      VotersParticipated: 210,
    })
    expect(unit(SOUTH)).toMatchObject({
      Type: 'state',
      ComposingGpUnitIds: [P('s:1'), P('s_2')],
      VotersRegistered: 140,
      VotersParticipated: 90,
    })
    expect(unit(P('1:north'))).toMatchObject({ Type: 'precinct', VotersRegistered: 100, VotersParticipated: 55 })
    expect(unit(cdfIds.district('south'))).toMatchObject({ Type: 'special', ComposingGpUnitIds: [P('s:1'), P('s_2')] })
    expect(doc.Election[0]?.BallotCounts.find((b) => b.GpUnitId === TOP)).toMatchObject({ Type: 'total', BallotsCast: 210 })
    expect(contestOf(doc, 'measure:a')).toMatchObject({
      SubUnitsReported: 2,
      TotalSubUnits: 2,
      ElectionDistrictId: cdfIds.district('south'),
    })

    // Open, with the North not yet counted: 2 of 4 precincts reported.
    const partial = handBuilt({ status: 'open' })
    partial.turnout = partial.turnout.map((t) => (t.regionId.startsWith('s') ? t : { ...t, ballots: 0 }))
    const early = cdfResultsReport(partial)
    expect(early.GpUnit.find((u) => u['@id'] === TOP)).toMatchObject({ SubUnitsReported: 2, TotalSubUnits: 4 })
    expect(early.GpUnit.find((u) => u['@id'] === NORTH)).toMatchObject({ SubUnitsReported: 0, TotalSubUnits: 2 })
  })

  it('gives candidates, parties, the write-in line, seats and the measure threshold', () => {
    const council = contestOf(doc, 'council')
    expect(council).toMatchObject({
      '@type': 'ElectionResults.CandidateContest',
      VotesAllowed: 2,
      NumberElected: 2,
      VoteVariation: 'n-of-m',
    })
    const writeIn = selectionOf(doc, 'council', WRITE_IN_SELECTION)
    expect(writeIn).toMatchObject({ IsWriteIn: true })
    expect(writeIn).not.toHaveProperty('CandidateIds')
    expect(selectionOf(doc, 'council', 'alice')).toMatchObject({ CandidateIds: [cdfIds.candidate('council', 'alice')] })
    const alice = doc.Election[0]?.Candidate.find((c) => c['@id'] === cdfIds.candidate('council', 'alice'))
    expect(alice).toMatchObject({ PartyId: cdfIds.party('Green: Left'), BallotName: { Text: [{ Content: 'Alice Ash' }] } })
    expect(doc.Party.map((p) => p.Name.Text[0]?.Content)).toEqual(['Green: Left', 'Blue'])
    const measure = contestOf(doc, 'measure:a')
    expect(measure).toMatchObject({ '@type': 'ElectionResults.BallotMeasureContest', VoteVariation: 'super-majority' })
    expect(measure?.['@type'] === 'ElectionResults.BallotMeasureContest' && measure.PassageThreshold.Text[0]?.Content).toMatch(
      /At least 2\/3/,
    )
    expect(measure?.ContestSelection.map((s) => s['@type'])).toEqual([
      'ElectionResults.BallotMeasureSelection',
      'ElectionResults.BallotMeasureSelection',
    ])
  })

  it('gives ids that start with a digit or hold a colon an NCName, keeping the original as an external identifier', () => {
    expect(P('1:north')).toBe('pct-1_3a_north')
    expect(cdfIds.candidate('council', '7carol')).toBe('can-council_-7carol')
    expect(contestOf(doc, 'measure:a')?.['@id']).toBe('con-measure_3a_a')
    expect(doc.GpUnit.find((u) => u['@id'] === P('1:north'))?.ExternalIdentifier).toEqual([
      { '@type': 'ElectionResults.ExternalIdentifier', Type: 'local-level', Value: '1:north' },
    ])
  })

  it('maps the lifecycle to Status and marks tests', () => {
    const expected = {
      draft: 'pre-election',
      open: 'unofficial-partial',
      closing: 'unofficial-partial',
      closed: 'unofficial-complete',
      certified: 'certified',
      'not-started': 'pre-election',
      'unofficial-partial': 'unofficial-partial',
      'unofficial-complete': 'unofficial-complete',
    } as const
    for (const status of [...ELECTION_STATUSES, ...REPORTING_STATUSES]) {
      expect(cdfResultsStatus(status)).toBe(expected[status])
      for (const isTest of [false, true]) {
        const d = cdfResultsReport(handBuilt({ status, isTest, testType: 'simulation' }))
        expectValid(d)
        expect(d.Status).toBe(expected[status])
        expect(d.IsTest).toBe(isTest)
        expect(d.TestType).toBe(isTest ? 'simulation' : undefined)
      }
    }
  })

  it('produces a zero report before anything is counted: every contest, every precinct, all zeros', () => {
    const zero = handBuilt({ status: 'draft' })
    zero.contests = zero.contests.map((c) => ({ ...c, votes: [], ballots: [] }))
    zero.turnout = []
    const d = cdfResultsReport(zero)
    expectValid(d)
    expect(d.Status).toBe('pre-election')
    const counts = d.Election[0]?.Contest.flatMap((c) => c.ContestSelection.flatMap((s) => s.VoteCounts as CdfVoteCounts[])) ?? []
    expect(counts.length).toBe(4 * 7 * 4 + 2 * 4 * 4) // council: 4 lines × 7 units × 4 types; measure: 2 × 4 × 4
    expect(counts.every((v) => v.Count === 0 && !v.IsSuppressedForPrivacy)).toBe(true)
    expect(d.GpUnit.find((u) => u['@id'] === TOP)).toMatchObject({ SubUnitsReported: 0, VotersParticipated: 0 })
  })
})

describe('ncname', () => {
  it('makes NCNames of anything, never the same one for two different inputs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.string(), { minLength: 1, maxLength: 3 }),
        (a, b) => {
          const x = ncname('k', ...a)
          expect(isNcname(x)).toBe(true)
          expect(parseNcname(x)).toEqual({ kind: 'k', parts: a })
          expect(x === ncname('k', ...b)).toBe(JSON.stringify(a) === JSON.stringify(b))
        },
      ),
      { numRuns: 1000 },
    )
    // Parts do not run into each other, kinds do not either.
    expect(ncname('sel', 'a-b', 'c')).not.toBe(ncname('sel', 'a', 'b-c'))
    expect(ncname('sel', 'a_', 'c')).not.toBe(ncname('sel', 'a', '_c'))
    expect(ncname('c', 's-x')).not.toBe(ncname('cs', 'x'))
    for (const id of ['1abc', 'a:b', '.x', '-', '', '_', 'é', '名前', 'a b', '😀']) expect(isNcname(ncname('pct', id))).toBe(true)
    expect(isNcname('1abc')).toBe(false)
    expect(isNcname('a:b')).toBe(false)
  })
})

// --- Random elections ---

function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

/** A random election: 1–3 states, 1–6 precincts, 1–3 contests of both kinds, ballots marked at random on 3 channels. */
function randomElection(seed: number, minCellBallots: number): CdfResultsInput {
  const r = rng(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))
  const idChars = 'abcxyz019:._-'
  const randomId = (i: number) =>
    `${'0123456789ab'[int(0, 11)]}${Array.from({ length: int(0, 4) }, () => idChars[int(0, idChars.length - 1)]).join('')}-${i}`
  const states = Array.from({ length: int(1, 3) }, (_, i) => [`State ${i}`, `St:${i}`, `${i} Land`][int(0, 2)] as string)
  const regions: RegionInfo[] = Array.from({ length: int(1, 6) }, (_, i) => ({
    id: randomId(i),
    name: `Precinct ${i}`,
    state: states[int(0, states.length - 1)] as string,
    registeredVoters: int(0, 200),
  }))
  const contests: CdfContestInput[] = Array.from({ length: int(1, 3) }, (_, c) => {
    const measure = r() < 0.4
    const votesAllowed = measure ? 1 : int(1, 3)
    const rules: ContestRules = measure
      ? {
          id: `m:${c}`,
          name: `Measure ${c}`,
          type: 'measure',
          district: `d${c}`,
          position: c,
          votesAllowed: 1,
          numberElected: 1,
          writeIns: false,
          selections: [
            { id: 'yes', name: 'Yes', party: null, writeIn: false },
            { id: 'no', name: 'No', party: null, writeIn: false },
          ],
          threshold: [
            { numerator: 1, denominator: 2 },
            { numerator: 3, denominator: 5 },
          ][int(0, 1)] as { numerator: number; denominator: number },
        }
      : {
          id: `${c}c`,
          name: `Contest ${c}`,
          type: 'candidate',
          district: `d${c % 2}`,
          position: c,
          votesAllowed,
          numberElected: int(1, votesAllowed),
          writeIns: r() < 0.5,
          selections: Array.from({ length: int(1, 4) }, (_, s) => ({
            id: `${s}:cand`,
            name: `Candidate ${s}`,
            party: r() < 0.7 ? (['Red', 'Blue', 'Green: Left'][int(0, 2)] ?? null) : null,
            writeIn: r() < 0.1,
          })),
          threshold: null,
        }
    const inContest = regions.filter(() => r() < 0.8)
    const mine = inContest.length > 0 ? inContest : regions.slice(0, 1)
    const input: CdfContestInput = { rules, regions: mine.map((x) => x.id), votes: [], ballots: [] }
    const lines = [...rules.selections.map((s) => s.id), ...(rules.writeIns ? [WRITE_IN_SELECTION] : [])]
    for (const region of mine)
      for (const channel of CHANNELS) {
        const n = [0, int(1, 12), int(1, 40)][int(0, 2)] as number
        const ballots = Array.from({ length: n }, () => lines.filter(() => r() < 0.5).slice(0, int(0, votesAllowed + 1)))
        const t = tabulate(rules, region.id, channel, ballots)
        input.votes.push(...t.votes)
        input.ballots.push(t.ballot)
      }
    return input
  })
  return {
    election: {
      id: randomId(99),
      name: 'Random',
      date: '2026-11-03T00:00:00.000Z',
      status: ELECTION_STATUSES[int(0, 4)] as (typeof ELECTION_STATUSES)[number],
      isTest: true,
      testType: 'simulation',
    },
    generatedAt: new Date(1_800_000_000_000 + int(0, 1e9)).toISOString(),
    issuer: 'VoteStream simulation',
    jurisdiction: { name: 'Simland' },
    regions,
    contests,
    turnout: regions.map((x) => ({ regionId: x.id, ballots: int(0, 100) })),
    minCellBallots,
  }
}

/** Per contest: unit → type → ballots, from the input (what the export's suppression must respect). */
function cellBallots(input: CdfResultsInput, contest: CdfContestInput): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>()
  const add = (unit: string, type: string, n: number) => {
    const m = out.get(unit) ?? new Map<string, number>()
    m.set(type, (m.get(type) ?? 0) + n)
    out.set(unit, m)
  }
  const state = new Map(input.regions.map((x) => [x.id, x.state]))
  for (const b of contest.ballots) {
    const type = CDF_COUNT_TYPE[b.channel as (typeof CHANNELS)[number]]
    for (const unit of [P(b.regionId), cdfIds.group(state.get(b.regionId) as string), cdfIds.jurisdiction(input.election.id)]) {
      add(unit, type, b.ballots)
      add(unit, 'total', b.ballots)
    }
  }
  return out
}

/**
 * An exact audit of what the published sums give back: the hidden nodes of one contest
 * (unit × type) are the unknowns, every sum the document implies (a unit's total over its
 * types, a parent's count per type over its children) an equation; a hidden node is given
 * back when the equations determine it (its unit vector lies in their row space).
 */
function determinedNodes(units: Map<string, string[]>, hidden: Set<string>): Set<string> {
  const TYPES = ['election-day', 'early', 'absentee-mail', 'total']
  const vars = [...hidden]
  const col = new Map(vars.map((v, i) => [v, i]))
  const rows: number[][] = []
  const equation = (total: string, parts: string[]) => {
    const row = new Array<number>(vars.length).fill(0)
    let any = false
    for (const [n, c] of [[total, 1] as const, ...parts.map((p) => [p, -1] as const)]) {
      const i = col.get(n)
      if (i !== undefined) {
        row[i] = (row[i] ?? 0) + c
        any = true
      }
    }
    if (any) rows.push(row)
  }
  for (const [unit, kids] of units) {
    equation(
      `${unit} total`,
      TYPES.slice(0, 3).map((t) => `${unit} ${t}`),
    )
    if (kids.length > 0)
      for (const t of TYPES)
        equation(
          `${unit} ${t}`,
          kids.map((k) => `${k} ${t}`),
        )
  }
  // Reduced row echelon form.
  const pivots: number[] = []
  let r = 0
  for (let c = 0; c < vars.length && r < rows.length; c++) {
    const p = rows.findIndex((row, i) => i >= r && Math.abs(row[c] ?? 0) > 1e-9)
    if (p < 0) continue
    ;[rows[r], rows[p]] = [rows[p] as number[], rows[r] as number[]]
    const pr = rows[r] as number[]
    const pv = pr[c] as number
    for (let j = 0; j < pr.length; j++) pr[j] = (pr[j] as number) / pv
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as number[]
      const f = row[c] as number
      if (i !== r && Math.abs(f) > 1e-9) for (let j = 0; j < row.length; j++) row[j] = (row[j] as number) - f * (pr[j] as number)
    }
    pivots.push(c)
    r++
  }
  const out = new Set<string>()
  pivots.forEach((c, i) => {
    const row = rows[i] as number[]
    if (row.every((x, j) => j === c || Math.abs(x) < 1e-9)) out.add(vars[c] as string)
  })
  return out
}

describe('cdfResultsReport: random elections', () => {
  it("always validate against NIST's schema; a total is the sum of its vote types; small cells never show", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(1, 5, 10), (seed, min) => {
        const input = randomElection(seed, min)
        const doc = cdfResultsReport(input)
        expectValid(doc)
        expectIdsSound(doc)
        for (const contest of input.contests) {
          const c = contestOf(doc, contest.rules.id)
          const ballots = cellBallots(input, contest)
          for (const s of c?.ContestSelection ?? []) {
            const byUnit = new Map<string, CdfVoteCounts[]>()
            for (const v of s.VoteCounts) byUnit.set(v.GpUnitId, [...(byUnit.get(v.GpUnitId) ?? []), v])
            for (const [unit, vcs] of byUnit) {
              expect(vcs.map((v) => v.Type).sort()).toEqual(['absentee-mail', 'early', 'election-day', 'total'])
              for (const v of vcs) {
                const n = ballots.get(unit)?.get(v.Type) ?? 0
                if (n > 0 && n < min) expect(v.IsSuppressedForPrivacy).toBe(true)
              }
              if (vcs.every((v) => !v.IsSuppressedForPrivacy)) {
                const total = vcs.find((v) => v.Type === 'total')?.Count
                expect(total).toBe(vcs.filter((v) => v.Type !== 'total').reduce((sum, v) => sum + v.Count, 0))
              }
              // One hidden type next to a shown total would be given back by a subtraction.
              const total = vcs.find((v) => v.Type === 'total')
              if (!total?.IsSuppressedForPrivacy) expect(vcs.filter((v) => v.IsSuppressedForPrivacy).length).not.toBe(1)
            }
          }
        }
        if (min === 1) {
          // Nothing hidden: every total, at every unit, is the sum of its vote types, and every unit the sum of its parts.
          const all = doc.Election[0]?.Contest.flatMap((c) => c.ContestSelection.flatMap((s) => s.VoteCounts as CdfVoteCounts[])) ?? []
          expect(all.some((v) => v.IsSuppressedForPrivacy)).toBe(false)
        }
      }),
      { numRuns: 300 },
    )
  })

  /** The small cells of one contest that the document's sums, combined, give back. */
  function givenBack(input: CdfResultsInput, doc: CdfElectionReport, contest: CdfContestInput): string[] {
    const votes = contestOf(doc, contest.rules.id)?.ContestSelection[0]?.VoteCounts ?? []
    const hidden = new Set(votes.filter((v) => v.IsSuppressedForPrivacy).map((v) => `${v.GpUnitId} ${v.Type}`))
    const state = new Map(input.regions.map((x) => [x.id, x.state]))
    const top = cdfIds.jurisdiction(input.election.id)
    const tree = new Map<string, string[]>([[top, []]])
    for (const id of contest.regions) {
      const g = cdfIds.group(state.get(id) as string)
      if (!tree.has(g)) {
        tree.set(g, [])
        tree.get(top)?.push(g)
      }
      tree.get(g)?.push(P(id))
      tree.set(P(id), [])
    }
    const ballots = cellBallots(input, contest)
    const min = input.minCellBallots ?? 10
    return [...determinedNodes(tree, hidden)].filter((k) => {
      const [unit, type] = k.split(' ') as [string, string]
      const n = ballots.get(unit)?.get(type) ?? 0
      return n > 0 && n < min
    })
  }

  it('known limit: a small cell that only a combination of several sums gives back can slip through (under 1 % of these elections)', () => {
    // hideCells protects each sum on its own. An exact audit (the equations of all the sums)
    // still finds, in about 0.3 % of these random elections (built with many small cells;
    // 0.65 % before the per-contest page hid the regions holding a small cell), a small cell
    // that a combination gives back — here an election-day cell of contest 0c. When hideCells
    // learns to see these, tighten the bound below to 0.
    const example = randomElection(2977544, 10)
    const c0 = example.contests.find((c) => c.rules.id === '0c') as CdfContestInput
    expect(givenBack(example, cdfResultsReport(example), c0)).toEqual(['pct-3bc91-4 election-day'])

    let leaking = 0
    let runs = 0
    for (let seed = 1; seed <= 600; seed++)
      for (const min of [5, 10]) {
        const input = randomElection(seed * 7919, min)
        const doc = cdfResultsReport(input)
        runs++
        if (input.contests.some((c) => givenBack(input, doc, c).length > 0)) leaking++
      }
    console.info(`cdf-results: ${leaking} of ${runs} random elections have a small cell that a combination of sums gives back`)
    expect(leaking / runs).toBeLessThan(0.01)
  })
})

// --- Zeros pin hidden cells: what a reader works out of one line's counts ---

/** Line (a selection's id, `undervotes`, `overvotes`) → node (`unit type`) → count, for the nodes a reader is shown. */
type ShownLines = Map<string, Map<string, number>>

/**
 * What the public reads of one contest: the per-contest page's counts (contest-results.ts:
 * its regions', its channels' and, above the minimum, the contest's), and unless `doc` is
 * null the document's (VoteCounts per selection, OtherCounts' Undervotes and Overvotes at a
 * unit's total); with the sums that tie them: a unit's total over its vote types, a unit's
 * count per type over the units composing it (the GpUnit hierarchy, the contest's precincts).
 */
function readerView(input: CdfResultsInput, doc: CdfElectionReport | null, contest: CdfContestInput) {
  const top = cdfIds.jurisdiction(input.election.id)
  const state = new Map(input.regions.map((x) => [x.id, x.state]))
  const children = new Map<string, string[]>([[top, []]])
  for (const id of contest.regions) {
    const g = cdfIds.group(state.get(id) as string)
    if (!children.has(g)) children.set(g, [])
    children.get(g)?.push(P(id))
  }
  children.set(
    top,
    [...children.keys()].filter((u) => u !== top),
  )
  const types = ['election-day', 'early', 'absentee-mail'] as const
  const sums: Array<{ total: string; parts: string[] }> = []
  for (const u of [...children.keys(), ...contest.regions.map(P)]) {
    sums.push({ total: `${u} total`, parts: types.map((t) => `${u} ${t}`) })
    const kids = children.get(u) ?? []
    if (kids.length > 0) for (const t of [...types, 'total']) sums.push({ total: `${u} ${t}`, parts: kids.map((k) => `${k} ${t}`) })
  }
  const lines: ShownLines = new Map()
  const see = (line: string, node: string, n: number) => lines.set(line, (lines.get(line) ?? new Map()).set(node, n))
  const page = contestResults({
    electionId: input.election.id,
    rules: contest.rules,
    votes: contest.votes,
    ballots: contest.ballots,
    regions: input.regions.filter((r) => contest.regions.includes(r.id)),
    finished: true,
    calls: [],
    minCellBallots: input.minCellBallots,
  })
  type Scope = { node: string; votes: Record<string, number> | null; undervotes: number | null; overvotes: number | null }
  const pageScopes: Scope[] = [
    ...page.channels.map((x) => ({ ...x, node: `${top} ${CDF_COUNT_TYPE[x.channel as (typeof CHANNELS)[number]]}` })),
    ...page.regions.map((x) => ({ ...x, node: `${P(x.id)} total` })),
  ]
  // The contest's own counts, once it has enough ballots.
  if (page.totals.ballots >= page.minCellBallots)
    pageScopes.push({ ...page.totals, votes: Object.fromEntries(page.selections.map((x) => [x.id, x.votes])), node: `${top} total` })
  for (const x of pageScopes) {
    for (const [id, n] of Object.entries(x.votes ?? {})) see(cdfIds.selection(contest.rules.id, id), x.node, n)
    if (x.undervotes !== null) see('undervotes', x.node, x.undervotes)
    if (x.overvotes !== null) see('overvotes', x.node, x.overvotes)
  }
  const c = doc && contestOf(doc, contest.rules.id)
  for (const s of c?.ContestSelection ?? [])
    for (const v of s.VoteCounts as CdfVoteCounts[])
      if (v.Round === undefined && !v.IsSuppressedForPrivacy) see(s['@id'], `${v.GpUnitId} ${v.Type}`, v.Count)
  for (const o of c?.OtherCounts ?? []) {
    see('undervotes', `${o.GpUnitId} total`, o.Undervotes)
    see('overvotes', `${o.GpUnitId} total`, o.Overvotes)
  }
  return { sums, lines }
}

/**
 * What a reader works out of one line, counts never being negative, by the sums one at a time
 * until nothing changes: a known total whose known parts already add up to it (a total of 0
 * above all) makes its other parts 0; a known total with one part unknown gives that part;
 * known parts give their total.
 */
function deduce(sums: Array<{ total: string; parts: string[] }>, shown: ReadonlyMap<string, number>): Map<string, number> {
  const known = new Map(shown)
  for (let changed = true; changed; ) {
    changed = false
    for (const { total, parts } of sums) {
      const t = known.get(total)
      const unknown = parts.filter((p) => !known.has(p))
      const sum = parts.reduce((s, p) => s + (known.get(p) ?? 0), 0)
      const learnt: Array<[string, number]> =
        t === undefined
          ? unknown.length === 0
            ? [[total, sum]]
            : []
          : unknown.length === 1
            ? [[unknown[0] as string, t - sum]]
            : t === sum
              ? unknown.map((p) => [p, 0])
              : []
      for (const [node, n] of learnt) known.set(node, n)
      changed ||= learnt.length > 0
    }
  }
  return known
}

/**
 * The small cells of one contest (hidden, or never published: a precinct × vote type on the
 * per-contest page) whose count on some line a reader works out, and it is not 0: `line
 * unit type = count`. From the page alone when `doc` is null.
 */
function pinnedBack(input: CdfResultsInput, doc: CdfElectionReport | null, contest: CdfContestInput): string[] {
  const { sums, lines } = readerView(input, doc, contest)
  const ballots = cellBallots(input, contest)
  const min = input.minCellBallots ?? 10
  const out: string[] = []
  for (const [line, shown] of lines)
    for (const [node, n] of deduce(sums, shown)) {
      const [unit, type] = node.split(' ') as [string, string]
      const b = ballots.get(unit)?.get(type) ?? 0
      if (!shown.has(node) && b > 0 && b < min && n > 0) out.push(`${line} ${node} = ${n}`)
    }
  return out.sort()
}

/** One contest, vote for 1, from ballots given per precinct × channel as the index of the line marked (lines.length: blank, lines.length + 1: overvoted). */
function tallied(
  precincts: Array<{ id: string; state: string; cells: Array<number[]> }>,
  lines: string[],
  minCellBallots: number,
): CdfResultsInput {
  const rules: ContestRules = {
    id: 'race',
    name: 'Race',
    type: 'candidate',
    district: 'all',
    position: 0,
    votesAllowed: 1,
    numberElected: 1,
    writeIns: false,
    selections: lines.map((id) => ({ id, name: id.toUpperCase(), party: null, writeIn: false })),
    threshold: null,
  }
  const contest: CdfContestInput = { rules, regions: precincts.map((p) => p.id), votes: [], ballots: [] }
  for (const p of precincts)
    CHANNELS.forEach((channel, i) => {
      const marks = (p.cells[i] ?? []).map((k) => (k < lines.length ? [lines[k] as string] : k === lines.length ? [] : lines.slice(0, 2)))
      const t = tabulate(rules, p.id, channel, marks)
      contest.votes.push(...t.votes)
      contest.ballots.push(t.ballot)
    })
  return {
    election: { id: 'z', name: 'Zeros', date: '2026-11-03', status: 'closed', isTest: true, testType: 'simulation' },
    generatedAt: '2026-11-04T00:00:00Z',
    issuer: 'VoteStream test',
    jurisdiction: { name: 'Zeroland' },
    regions: precincts.map((p) => ({ id: p.id, name: p.id, state: p.state, registeredVoters: 100 })),
    contests: [contest],
    turnout: precincts.map((p) => ({ regionId: p.id, ballots: p.cells.reduce((s, c) => s + c.length, 0) })),
    minCellBallots,
  }
}

describe('cdfResultsReport: zeros do not pin hidden cells', () => {
  const ballots = (x: number, y: number) => [...Array<number>(x).fill(0), ...Array<number>(y).fill(1)]

  it("docs/secret-ballot.md's example: a candidate with no mail votes anywhere does not give a precinct's 3 election-day ballots back", () => {
    // P: 3 election-day ballots, all for X (a small cell), 20 early, 15 mail; X has no mail votes anywhere.
    const input = tallied(
      [
        { id: 'p', state: 'Z', cells: [ballots(3, 0), ballots(8, 12), ballots(0, 15)] },
        { id: 'q', state: 'Z', cells: [ballots(15, 15), ballots(10, 15), ballots(0, 12)] },
        { id: 'r', state: 'Z', cells: [ballots(20, 20), ballots(12, 18), ballots(0, 20)] },
      ],
      ['x', 'y'],
      10,
    )
    const doc = cdfResultsReport(input)
    expectValid(doc)
    const counts = (unit: string) => countsAt(doc, 'race', 'x', unit)
    // The zero that pins: shown, as the per-contest page shows it.
    expect(counts(cdfIds.jurisdiction('z'))['absentee-mail']).toBe(0)
    // The per-contest page hides P (it holds a cell of 3 ballots) and Q with it (the smallest other).
    expect(counts(P('p'))).toMatchObject({ 'election-day': 'hidden', total: 'hidden' })
    expect(counts(P('q')).total).toBe('hidden')
    expect(counts(P('r')).total).toBe(32)
    expect(pinnedBack(input, doc, input.contests[0] as CdfContestInput)).toEqual([])
    // X's total in P is not shown, so its early count can be: with it, the three ballots are not given back.
    expect(counts(P('p')).early).toBe(8)
    const { sums, lines } = readerView(input, doc, input.contests[0] as CdfContestInput)
    const x = deduce(sums, lines.get(cdfIds.selection('race', 'x')) ?? new Map())
    expect(x.get(`${P('p')} absentee-mail`)).toBe(0) // what the published zero says, and no more
    expect(x.has(`${P('p')} election-day`)).toBe(false)
  })

  it('hides what the per-contest page hides, also among cells of equal ballots', () => {
    // Channels: the page hides the 1-ballot mail cell and then early (6 ballots, as many as
    // election day: the page takes channels by id). Had the document hidden election day
    // instead, the page's election day and the document's early would give the mail ballot back.
    const channels = tallied(
      [
        { id: 'p0', state: 'Z', cells: [[], ballots(2, 0), []] },
        { id: 'p1', state: 'Z', cells: [ballots(6, 0), ballots(4, 0), ballots(1, 0)] },
      ],
      ['a', 'b'],
      5,
    )
    const top = cdfIds.jurisdiction('z')
    const doc = cdfResultsReport(channels)
    expect(countsAt(doc, 'race', 'a', top)).toMatchObject({ 'election-day': 6, early: 'hidden', 'absentee-mail': 'hidden' })
    expect(pinnedBack(channels, doc, channels.contests[0] as CdfContestInput)).toEqual([])

    // Regions: the page lists them by state and name (as `regions` comes), the contest lists
    // them its own way; of two 20-ballot regions the page hides the first it lists.
    const regions = tallied(
      [
        { id: 'a', state: 'Z', cells: [ballots(10, 10), [], []] },
        { id: 'b', state: 'Z', cells: [ballots(12, 8), [], []] },
        { id: 'r', state: 'Z', cells: [ballots(3, 0), [], []] },
        { id: 'c', state: 'Z', cells: [ballots(30, 30), [], []] },
      ],
      ['a', 'b'],
      10,
    )
    regions.regions = ['b', 'a', 'c', 'r'].map((id) => regions.regions.find((r) => r.id === id) as RegionInfo)
    const shown = (d: CdfElectionReport, id: string) => countsAt(d, 'race', 'a', P(id)).total !== 'hidden'
    const byRegions = cdfResultsReport(regions)
    expect(['a', 'b', 'c', 'r'].map((id) => shown(byRegions, id))).toEqual([true, false, true, false])
    expect(pinnedBack(regions, byRegions, regions.contests[0] as CdfContestInput)).toEqual([])
  })

  it("the per-contest page gives nothing back on its own: a region's one early ballot, when its other channels are 0 everywhere", () => {
    // Had the page shown p1's total for B (1 vote) beside the election-day and mail totals
    // (0 for B everywhere), p1's one early ballot would have been for B. It hides p1 (a region
    // holding a cell of 1..min-1 ballots) and p0 with it, so that the contest's total minus
    // the regions shown does not give p1 back.
    const input = tallied(
      [
        { id: 'p0', state: 'Z', cells: [ballots(1, 0), ballots(10, 0), ballots(1, 0)] },
        { id: 'p1', state: 'Z', cells: [ballots(10, 0), ballots(0, 1), ballots(10, 0)] },
        { id: 'p2', state: 'Z', cells: [ballots(10, 0), ballots(10, 0), ballots(10, 0)] },
      ],
      ['a', 'b'],
      5,
    )
    const contest = input.contests[0] as CdfContestInput
    const page = contestResults({
      electionId: 'z',
      rules: contest.rules,
      votes: contest.votes,
      ballots: contest.ballots,
      regions: input.regions,
      finished: true,
      calls: [],
    })
    expect(page.regions.map((r) => [r.id, r.suppressed])).toEqual([
      ['p0', true],
      ['p1', true],
      ['p2', false],
    ])
    expect(Object.fromEntries(page.channels.map((c) => [c.channel, c.votes?.b]))).toEqual({ election_day: 0, early: 1, mail: 0 })
    expect(pinnedBack(input, null, contest)).toEqual([])
    const doc = cdfResultsReport(input)
    expect(countsAt(doc, 'race', 'b', P('p1'))).toMatchObject({ early: 'hidden', total: 'hidden' })
    expect(pinnedBack(input, doc, contest)).toEqual([])
  })

  const kinds = 4 // three candidates, a blank, an overvote
  const cell = fc.oneof(
    { arbitrary: fc.constant([] as number[]), weight: 1 },
    { arbitrary: fc.array(fc.nat(kinds), { minLength: 1, maxLength: 9 }), weight: 3 },
    { arbitrary: fc.array(fc.nat(kinds), { minLength: 10, maxLength: 30 }), weight: 2 },
  )
  const table = fc.record({
    precincts: fc.array(fc.record({ group: fc.nat(2), cells: fc.tuple(cell, cell, cell) }), { minLength: 1, maxLength: 6 }),
    // Lines nobody chose on one channel (or in one group on it): where the zeros come from.
    absent: fc.uniqueArray(fc.record({ line: fc.nat(kinds), channel: fc.nat(2), group: fc.option(fc.nat(2)) }), { maxLength: 4 }),
    min: fc.constantFrom(5, 10),
  })

  it('no small hidden cell is given back by the zeros and the sums, on any line (property)', () => {
    fc.assert(
      fc.property(table, ({ precincts, absent, min }) => {
        const input = tallied(
          precincts.map((p, i) => ({
            id: `p${i}`,
            state: `G${p.group}`,
            cells: p.cells.map((ballots, ch) =>
              ballots.filter((k) => !absent.some((a) => a.line === k && a.channel === ch && (a.group === null || a.group === p.group))),
            ),
          })),
          ['a', 'b', 'c'],
          min,
        )
        const contest = input.contests[0] as CdfContestInput
        // Neither the per-contest page alone nor the page and the document read together.
        expect(pinnedBack(input, null, contest)).toEqual([])
        expect(pinnedBack(input, cdfResultsReport(input), contest)).toEqual([])
      }),
      { numRuns: 1000 },
    )
  })

  it("the random elections' contests (vote for n, measures, write-ins): nothing given back, by the page or the document (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(5, 10), (seed, min) => {
        const input = randomElection(seed, min)
        const doc = cdfResultsReport(input)
        for (const contest of input.contests) {
          expect(pinnedBack(input, null, contest)).toEqual([])
          expect(pinnedBack(input, doc, contest)).toEqual([])
        }
      }),
      { numRuns: 300 },
    )
  })
})
