import { describe, expect, it } from 'vitest'
import { type AnyBallot, type BallotV2, decodeBallot, encodeBallot, type Marks } from './ballot.ts'
import { CONTEST_LIMITS, type ElectionDefinitionInput, electionDefinitionSchema, type RegionPlace, resolveDefinition } from './contests.ts'
import { cellBalances, indexDefinition, type TabulationIndex, tabulateBallot } from './tabulation.ts'

/**
 * How one ballot's marks count, contest by contest, against a small election:
 *
 * - president: vote for 1 of ada, alan, grace; no write-in line; the whole election
 * - council: vote for 3 of a–e, with write-in lines; the whole election
 * - prop-1: a measure; the whole election
 * - nv-gov: vote for 1 of x, y, with a write-in line; Nevada only (n1, n2)
 * - city-q: a measure; region n2 only
 */

const input: ElectionDefinitionInput = {
  districts: [
    { id: 'all', name: 'Everywhere' },
    { id: 'nv', name: 'Nevada', level: 'state', states: ['NV'] },
    { id: 'city', name: 'City', level: 'city', regions: ['n2'] },
  ],
  contests: [
    {
      id: 'president',
      name: 'President',
      type: 'candidate',
      district: 'all',
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'alan', name: 'Alan' },
        { id: 'grace', name: 'Grace' },
      ],
    },
    {
      id: 'council',
      name: 'Council',
      type: 'candidate',
      district: 'all',
      votesAllowed: 3,
      writeIns: true,
      candidates: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, name: id.toUpperCase() })),
    },
    { id: 'prop-1', name: 'Proposition 1', type: 'measure', district: 'all' },
    {
      id: 'nv-gov',
      name: 'Governor',
      type: 'candidate',
      district: 'nv',
      writeIns: true,
      candidates: [
        { id: 'x', name: 'X' },
        { id: 'y', name: 'Y', writeIn: true },
      ],
    },
    { id: 'city-q', name: 'City question', type: 'measure', district: 'city', threshold: '2/3' },
  ],
}

const regions: RegionPlace[] = [
  { id: 'n1', state: 'NV' },
  { id: 'n2', state: 'NV' },
  { id: 'o1', state: 'OR' },
]

function indexOf(def: ElectionDefinitionInput, rs: RegionPlace[]): TabulationIndex {
  const r = resolveDefinition(electionDefinitionSchema.parse(def), rs)
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return indexDefinition(r.resolved)
}

const index = indexOf(input, regions)
const writeIn = (name: string) => ({ writeIn: name })
const tab = (region: string, marks: Marks) => tabulateBallot(index, region, marks)
const outcome = (contestId: string, selections: string[], undervotes: number, overvoted: 0 | 1 = 0) => ({
  contestId,
  selections,
  undervotes,
  overvoted,
})

describe('tabulateBallot: what counts', () => {
  it('counts a full ballot contest by contest, in style order', () => {
    const marks: Marks = {
      'city-q': ['no'],
      council: ['a', 'c', 'e'],
      president: ['grace'],
      'prop-1': ['yes'],
      'nv-gov': ['y'],
    }
    const t = tab('n2', marks)
    // With no ranked contest, the box gets the marks exactly as given.
    expect(t.ok && t.marks).toBe(marks)
    expect(t).toMatchObject({
      ok: true,
      styleId: index.resolved.styleOfRegion.get('n2'),
      contests: [
        outcome('president', ['grace'], 0),
        outcome('council', ['a', 'c', 'e'], 0),
        outcome('prop-1', ['yes'], 0),
        outcome('nv-gov', ['y'], 0),
        outcome('city-q', ['no'], 0),
      ],
    })
  })

  it('calls two marks in a vote-for-1 an overvote: nothing counted there, no undervotes, the rest of the ballot counts', () => {
    const t = tab('o1', { president: ['ada', 'alan'], council: ['b'], 'prop-1': ['no'] })
    expect(t).toMatchObject({
      ok: true,
      styleId: index.resolved.styleOfRegion.get('o1'),
      contests: [outcome('president', [], 0, 1), outcome('council', ['b'], 2), outcome('prop-1', ['no'], 0)],
    })
  })

  it('gives a vote-for-3 with one mark two undervotes, and with two marks one', () => {
    const t = tab('o1', { president: ['ada'], council: ['d'], 'prop-1': ['yes'] })
    expect(t.ok && t.contests[1]).toEqual(outcome('council', ['d'], 2))
    const two = tab('o1', { council: ['d', 'a'] })
    expect(two.ok && two.contests[1]).toEqual(outcome('council', ['d', 'a'], 1))
  })

  it('gives a blank contest votesAllowed undervotes, whether left out or given no marks', () => {
    const left = tab('n1', {})
    expect(left).toMatchObject({
      ok: true,
      styleId: index.resolved.styleOfRegion.get('n1'),
      contests: [outcome('president', [], 1), outcome('council', [], 3), outcome('prop-1', [], 1), outcome('nv-gov', [], 1)],
    })
    const empty = tab('n1', { president: [], council: [], 'prop-1': [], 'nv-gov': [] })
    expect(empty.ok && empty.contests).toEqual(left.ok && left.contests)
  })

  it('counts a write-in where the contest has write-in lines on the write-in line', () => {
    const t = tab('n1', { council: ['a', writeIn('Jane Q. Public'), writeIn('John Roe')], 'nv-gov': [writeIn('Somebody Else')] })
    expect(t.ok && t.contests).toEqual([
      outcome('president', [], 1),
      outcome('council', ['a', 'write-in', 'write-in'], 0),
      outcome('prop-1', [], 1),
      outcome('nv-gov', ['write-in'], 0),
    ])
  })

  it('counts a declared write-in candidate by id, not on the write-in line', () => {
    const t = tab('n1', { 'nv-gov': ['y'] })
    expect(t.ok && t.contests[3]).toEqual(outcome('nv-gov', ['y'], 0))
  })

  it('calls more write-ins than votes an overvote', () => {
    const t = tab('n1', { council: ['a', 'b', writeIn('Jane'), writeIn('John')], 'nv-gov': ['x', writeIn('Jane')] })
    expect(t.ok && t.contests).toEqual([
      outcome('president', [], 1),
      outcome('council', [], 0, 1),
      outcome('prop-1', [], 1),
      outcome('nv-gov', [], 0, 1),
    ])
  })

  it('counts a measure yes or no; both is an overvote, neither an undervote', () => {
    const get = (marks: Marks) => {
      const t = tab('o1', marks)
      return t.ok ? t.contests.find((c) => c.contestId === 'prop-1') : t
    }
    expect(get({ 'prop-1': ['yes'] })).toEqual(outcome('prop-1', ['yes'], 0))
    expect(get({ 'prop-1': ['no'] })).toEqual(outcome('prop-1', ['no'], 0))
    expect(get({ 'prop-1': ['yes', 'no'] })).toEqual(outcome('prop-1', [], 0, 1))
    expect(get({ 'prop-1': [] })).toEqual(outcome('prop-1', [], 1))
  })

  it('gives every contest on the style exactly one outcome, and the contests off the style none', () => {
    for (const region of ['n1', 'n2', 'o1']) {
      const t = tab(region, {})
      const style = index.resolved.styles.get(index.resolved.styleOfRegion.get(region) ?? '')
      expect(t.ok && t.contests.map((c) => c.contestId)).toEqual(style)
    }
    expect(index.resolved.styles.get(index.resolved.styleOfRegion.get('o1') ?? '')).toEqual(['president', 'council', 'prop-1'])
  })
})

describe('tabulateBallot: what is rejected whole', () => {
  it('rejects a region the definition does not have', () => {
    expect(tab('mars', { president: ['ada'] })).toMatchObject({ ok: false, reason: 'unknown_region' })
    expect(tab('mars', {})).toMatchObject({ ok: false, reason: 'unknown_region' })
  })

  it('rejects a contest of the election that is not on the voter’s style, even with no marks in it', () => {
    const t = tab('o1', { president: ['ada'], 'nv-gov': ['x'] })
    expect(t).toMatchObject({ ok: false, reason: 'contest_not_on_style' })
    if (!t.ok) expect(t.detail).toContain('nv-gov')
    expect(tab('n1', { 'city-q': [] })).toMatchObject({ ok: false, reason: 'contest_not_on_style' })
  })

  it('rejects a contest the election does not have', () => {
    const t = tab('n2', { president: ['ada'], senate: ['ada'] })
    expect(t).toMatchObject({ ok: false, reason: 'unknown_contest' })
    if (!t.ok) expect(t.detail).toContain('senate')
  })

  it('rejects a selection the contest does not have, even in an overvote', () => {
    for (const marks of [
      { president: ['bob'] },
      { president: ['ada', 'bob'] },
      { council: ['a'], 'prop-1': ['maybe'] },
      // A candidate of another contest.
      { president: ['a'] },
      // The write-in line is not a selection one marks by id.
      { council: ['write-in'] },
    ] as Marks[]) {
      const t = tab('o1', marks)
      expect(t, JSON.stringify(marks)).toMatchObject({ ok: false, reason: 'unknown_selection' })
    }
  })

  it('rejects a write-in where the contest has no write-in line', () => {
    const t = tab('n1', { council: [writeIn('Jane')], president: [writeIn('Jane')] })
    expect(t).toMatchObject({ ok: false, reason: 'write_in_not_allowed' })
    if (!t.ok) expect(t.detail).toContain('president')
    expect(tab('n1', { 'prop-1': [writeIn('Maybe')] })).toMatchObject({ ok: false, reason: 'write_in_not_allowed' })
    expect(tab('n1', { president: ['ada', writeIn('Jane')] })).toMatchObject({ ok: false, reason: 'write_in_not_allowed' })
  })

  it('rejects the same selection marked twice, whether or not that is more marks than allowed', () => {
    expect(tab('o1', { council: ['a', 'a'] })).toMatchObject({ ok: false, reason: 'malformed_mark' })
    expect(tab('o1', { president: ['ada', 'ada'] })).toMatchObject({ ok: false, reason: 'malformed_mark' })
    expect(tab('o1', { 'prop-1': ['yes', 'yes'] })).toMatchObject({ ok: false, reason: 'malformed_mark' })
    const t = tab('o1', { council: ['b', 'c', 'b'] })
    expect(t).toMatchObject({ ok: false, reason: 'malformed_mark' })
    if (!t.ok) expect(t.detail).toContain('b')
  })

  it('does not reject two write-ins of the same name: they are two lines', () => {
    const t = tab('o1', { council: [writeIn('Jane'), writeIn('Jane')] })
    expect(t.ok && t.contests[1]).toEqual(outcome('council', ['write-in', 'write-in'], 1))
  })
})

describe('cellBalances', () => {
  it('holds for a hand-counted cell: vote for 3, 10 ballots, 2 overvoted, 3 undervotes, 21 selections', () => {
    // 8 ballots counted: 24 marks possible; 21 made and 3 left blank. 2 overvoted: 2 × 3.
    expect(cellBalances({ votesAllowed: 3, ballots: 10, undervotes: 3, overvotes: 2, selectionVotes: 21 })).toBe(true)
    expect(cellBalances({ votesAllowed: 1, ballots: 0, undervotes: 0, overvotes: 0, selectionVotes: 0 })).toBe(true)
    expect(cellBalances({ votesAllowed: 1, ballots: 5, undervotes: 1, overvotes: 1, selectionVotes: 3 })).toBe(true)
  })
  it('fails a cell off by one anywhere, or one counting an overvote as one vote', () => {
    expect(cellBalances({ votesAllowed: 3, ballots: 10, undervotes: 4, overvotes: 2, selectionVotes: 21 })).toBe(false)
    expect(cellBalances({ votesAllowed: 3, ballots: 10, undervotes: 3, overvotes: 2, selectionVotes: 20 })).toBe(false)
    expect(cellBalances({ votesAllowed: 3, ballots: 11, undervotes: 3, overvotes: 2, selectionVotes: 21 })).toBe(false)
    // An overvote counted as 1 rather than votesAllowed: 21 + 3 + 2 ≠ 30.
    expect(cellBalances({ votesAllowed: 3, ballots: 10, undervotes: 7, overvotes: 2, selectionVotes: 21 })).toBe(false)
  })
  it('holds for the cells made of the ballots tabulated above', () => {
    const ballots: Marks[] = [
      { president: ['ada', 'alan'], council: ['b'], 'prop-1': ['no'] },
      { president: ['ada'], council: ['a', writeIn('Jane'), 'c'] },
      {},
      { council: ['a', 'b', 'c', 'd'], 'prop-1': ['yes', 'no'] },
    ]
    const cells = new Map<
      string,
      { votesAllowed: number; ballots: number; undervotes: number; overvotes: number; selectionVotes: number }
    >()
    for (const marks of ballots) {
      const t = tab('o1', marks)
      if (!t.ok) throw new Error(t.detail)
      for (const o of t.contests) {
        const votesAllowed = index.contests.get(o.contestId)?.votesAllowed ?? 0
        const c = cells.get(o.contestId) ?? { votesAllowed, ballots: 0, undervotes: 0, overvotes: 0, selectionVotes: 0 }
        c.ballots++
        c.undervotes += o.undervotes
        c.overvotes += o.overvoted
        c.selectionVotes += o.selections.length
        cells.set(o.contestId, c)
      }
    }
    expect(Object.fromEntries(cells)).toEqual({
      president: { votesAllowed: 1, ballots: 4, undervotes: 2, overvotes: 1, selectionVotes: 1 },
      council: { votesAllowed: 3, ballots: 4, undervotes: 5, overvotes: 1, selectionVotes: 4 },
      'prop-1': { votesAllowed: 1, ballots: 4, undervotes: 2, overvotes: 1, selectionVotes: 1 },
    })
    for (const c of cells.values()) expect(cellBalances(c)).toBe(true)
  })
})

describe('the ballot contract, version 2', () => {
  const v2: BallotV2 = {
    v: 2,
    ballotId: '3b241101-e2bb-4255-8caf-4136c566a962',
    electionId: 'e1',
    voterId: 'v1',
    regionId: 'n2',
    channel: 'early',
    castAt: '2026-11-03T15:04:05.000Z',
    marks: { president: ['ada'], council: ['a', { writeIn: 'Jane Q. Public' }], 'prop-1': [] },
  }
  const bytes = (o: unknown) => Buffer.from(JSON.stringify(o))
  const refused = (o: unknown) => {
    const d = decodeBallot(bytes(o))
    expect(d).toMatchObject({ ok: false, reason: 'invalid_schema' })
    return d.ok ? '' : d.detail
  }

  it('decodes a valid v2 ballot as it was sent', () => {
    expect(decodeBallot(encodeBallot(v2))).toEqual({ ok: true, ballot: v2 })
  })

  it('decodes a v2 ballot to its canonical form (lower-case ballot id, UTC instant, trimmed write-in)', () => {
    const d = decodeBallot(
      bytes({
        ...v2,
        ballotId: v2.ballotId.toUpperCase(),
        castAt: '2026-11-03T16:04:05+01:00',
        marks: { council: [{ writeIn: '  Jane  ' }] },
      }),
    )
    expect(d).toEqual({ ok: true, ballot: { ...v2, castAt: '2026-11-03T15:04:05.000Z', marks: { council: [{ writeIn: 'Jane' }] } } })
  })

  it('decodes a v2 ballot with no marks at all (every contest blank)', () => {
    expect(decodeBallot(bytes({ ...v2, marks: {} }))).toEqual({ ok: true, ballot: { ...v2, marks: {} } })
  })

  it('tabulates what it decodes', () => {
    const d = decodeBallot(encodeBallot(v2))
    if (!d.ok || d.ballot.v !== 2) throw new Error('expected a v2 ballot')
    const t = tabulateBallot(index, d.ballot.regionId, d.ballot.marks)
    expect(t.ok && t.contests).toEqual([
      outcome('president', ['ada'], 0),
      outcome('council', ['a', 'write-in'], 1),
      outcome('prop-1', [], 1),
      outcome('nv-gov', [], 1),
      outcome('city-q', [], 1),
    ])
  })

  it('refuses 10,000 marks in one contest, naming the limit', () => {
    const detail = refused({ ...v2, marks: { council: Array.from({ length: 10_000 }, () => 'a') } })
    expect(detail).toContain(`at most ${CONTEST_LIMITS.marksPerContest} marks in a contest`)
  })

  it('refuses 10,000 marks spread over 100 contests, naming the limit', () => {
    const marks = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`c${i}`, Array.from({ length: 100 }, (_, j) => `s${j}`)]))
    const detail = refused({ ...v2, marks })
    expect(detail).toContain(`at most ${CONTEST_LIMITS.marksPerBallot} marks on a ballot (10000 given)`)
  })

  it(`accepts ${CONTEST_LIMITS.marksPerBallot} marks and ${CONTEST_LIMITS.marksPerContest} in a contest`, () => {
    const marks = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`c${i}`, Array.from({ length: 100 }, (_, j) => `s${j}`)]))
    expect(decodeBallot(bytes({ ...v2, marks })).ok).toBe(true)
    const over = { ...marks, c10: ['s0'] }
    expect(refused({ ...v2, marks: over })).toContain('1001 given')
  })

  it('refuses 600 contests, naming the limit', () => {
    const marks = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`c${i}`, []]))
    expect(refused({ ...v2, marks })).toContain(`at most ${CONTEST_LIMITS.contests} contests on a ballot (600 given)`)
    const fine = Object.fromEntries(Array.from({ length: CONTEST_LIMITS.contests }, (_, i) => [`c${i}`, ['x']]))
    expect(decodeBallot(bytes({ ...v2, marks: fine })).ok).toBe(true)
  })

  it('refuses a write-in name of 101 characters and accepts one of 100', () => {
    const detail = refused({ ...v2, marks: { council: [{ writeIn: 'j'.repeat(CONTEST_LIMITS.writeInName + 1) }] } })
    expect(detail).toContain('marks.council.0')
    expect(decodeBallot(bytes({ ...v2, marks: { council: [{ writeIn: 'j'.repeat(CONTEST_LIMITS.writeInName) }] } })).ok).toBe(true)
  })

  it('refuses a write-in with a NUL or other control character, and an empty one', () => {
    for (const name of ['Jane\u0000Doe', 'Jane\u0007', '\u0000', 'Ja\u009bne', '', '   ']) {
      const detail = refused({ ...v2, marks: { council: [{ writeIn: name }] } })
      expect(detail, JSON.stringify(name)).toContain('marks.council.0')
    }
  })

  it('refuses marks that are neither a selection id nor a write-in', () => {
    for (const mark of ['Jane Doe', '', 'a'.repeat(65), 7, null, { writeIn: 'Jane', extra: 1 }, { name: 'Jane' }, ['a', 7], ['Jane Doe']])
      refused({ ...v2, marks: { council: [mark] } })
    for (const marks of [['a'], { 'not an id': ['a'] }, { council: 'a' }, null]) refused({ ...v2, marks })
  })

  it('refuses a v2 ballot without marks, with a candidate id, or with unknown fields', () => {
    const { marks: _, ...noMarks } = v2
    refused(noMarks)
    refused({ ...v2, candidateId: 'ada' })
    refused({ ...v2, extra: true })
  })

  it('attributes a refused v2 ballot to its election, voter and ballot id', () => {
    const d = decodeBallot(bytes({ ...v2, marks: { council: [{ writeIn: 'x'.repeat(500) }] } }))
    expect(d).toMatchObject({ ok: false, partial: { electionId: 'e1', voterId: 'v1', ballotId: v2.ballotId } })
  })
})

describe('the ballot contract, version 1, unchanged', () => {
  const v1 = {
    v: 1 as const,
    ballotId: '3b241101-e2bb-4255-8caf-4136c566a962',
    electionId: 'e1',
    voterId: 'v1',
    candidateId: 'ada',
    regionId: 'north',
    channel: 'mail' as const,
    castAt: '2026-11-24T12:00:00.000Z',
  }

  it('decodes a canonical v1 ballot exactly as sent', () => {
    expect(decodeBallot(encodeBallot(v1))).toEqual({ ok: true, ballot: v1 })
  })

  it('decodes a non-canonical v1 ballot to the same canonical form as before', () => {
    const d = decodeBallot(Buffer.from(JSON.stringify({ ...v1, ballotId: v1.ballotId.toUpperCase(), castAt: '2026-11-24T07:00:00-05:00' })))
    expect(d).toEqual({ ok: true, ballot: v1 })
  })

  it('refuses a v1 ballot carrying marks, and a v1 ballot without its candidate', () => {
    expect(decodeBallot(Buffer.from(JSON.stringify({ ...v1, marks: {} })))).toMatchObject({ ok: false, reason: 'invalid_schema' })
    const { candidateId: _, ...noCandidate } = v1
    expect(decodeBallot(Buffer.from(JSON.stringify(noCandidate)))).toMatchObject({ ok: false, reason: 'invalid_schema' })
  })

  it('refuses versions it does not know', () => {
    for (const v of [0, 3, '1', '2', null]) {
      const d = decodeBallot(Buffer.from(JSON.stringify({ ...v1, v })))
      expect(d, String(v)).toMatchObject({ ok: false, reason: 'invalid_schema' })
    }
  })

  it('keeps the two versions apart in the decoded type', () => {
    const ballots: AnyBallot[] = []
    for (const b of [v1, { ...v1, v: 2, candidateId: undefined, marks: { president: ['ada'] } }]) {
      const d = decodeBallot(Buffer.from(JSON.stringify(b)))
      if (d.ok) ballots.push(d.ballot)
    }
    expect(ballots.map((b) => b.v)).toEqual([1, 2])
    expect(ballots.map((b) => ('marks' in b ? 'marks' : 'candidateId' in b ? 'candidate' : '?'))).toEqual(['candidate', 'marks'])
  })
})

describe('contest ids that are names of Object.prototype', () => {
  // Ids the id rule allows; a ballot leaving such a contest blank must count it blank.
  const special = indexOf(
    {
      districts: [{ id: 'all', name: 'Everywhere' }],
      contests: [
        { id: 'constructor', name: 'Constructor', type: 'candidate', district: 'all', candidates: [{ id: 'a', name: 'A' }] },
        { id: 'toString', name: 'To string', type: 'measure', district: 'all' },
        { id: 'valueOf', name: 'Value of', type: 'measure', district: 'all' },
      ],
    },
    [{ id: 'r1', state: 'AA' }],
  )

  it('counts them blank when the ballot leaves them out', () => {
    expect(tabulateBallot(special, 'r1', {})).toMatchObject({
      ok: true,
      styleId: 'style-1',
      contests: [outcome('constructor', [], 1), outcome('toString', [], 1), outcome('valueOf', [], 1)],
    })
  })

  it('counts them blank when a decoded v2 ballot leaves them out', () => {
    const d = decodeBallot(
      Buffer.from(
        JSON.stringify({
          v: 2,
          ballotId: '3b241101-e2bb-4255-8caf-4136c566a962',
          electionId: 'e1',
          voterId: 'v1',
          regionId: 'r1',
          channel: 'mail',
          castAt: '2026-11-03T15:04:05.000Z',
          marks: { constructor: ['a'] },
        }),
      ),
    )
    if (!d.ok || d.ballot.v !== 2) throw new Error('expected a v2 ballot')
    expect(tabulateBallot(special, 'r1', d.ballot.marks)).toMatchObject({
      ok: true,
      styleId: 'style-1',
      contests: [outcome('constructor', ['a'], 0), outcome('toString', [], 1), outcome('valueOf', [], 1)],
    })
  })
})

describe('tabulateBallot: a ranked-choice contest', () => {
  const ranked = indexOf(
    {
      districts: [{ id: 'all', name: 'Everywhere' }],
      contests: [
        {
          id: 'mayor',
          name: 'Mayor',
          type: 'candidate',
          district: 'all',
          candidates: ['ann', 'bo', 'cy', 'di'].map((id) => ({ id, name: id })),
          rcv: {
            ranksAllowed: 3,
            overvoteRule: 'exhaustImmediately',
            maxSkippedRanksAllowed: 1,
            tiebreakMode: 'random',
            tiebreakSeed: 's',
          },
        },
        { id: 'prop-1', name: 'Proposition 1', type: 'measure', district: 'all' },
      ],
    },
    [{ id: 'r1', state: 'NV' }],
  )
  const rank = (marks: Marks) => tabulateBallot(ranked, 'r1', marks)

  it('adds the first choice to the counts and boxes the ranking in its canonical form', () => {
    const t = rank({ mayor: ['bo', ['ann'], 'cy'], 'prop-1': ['yes'] })
    expect(t).toMatchObject({ ok: true, contests: [outcome('mayor', ['bo'], 0), outcome('prop-1', ['yes'], 0)] })
    expect(t.ok && t.marks).toEqual({ mayor: [['bo'], ['ann'], ['cy']], 'prop-1': ['yes'] })
  })

  it('takes the first marked rank past skipped ones; an overvote there is an overvote, nothing an undervote', () => {
    expect(rank({ mayor: [[], 'cy'] })).toMatchObject({ ok: true, contests: [outcome('mayor', ['cy'], 0), outcome('prop-1', [], 1)] })
    expect(rank({ mayor: [['di', 'ann'], 'bo'] })).toMatchObject({ contests: [outcome('mayor', [], 0, 1), outcome('prop-1', [], 1)] })
    expect(rank({})).toMatchObject({ contests: [outcome('mayor', [], 1), outcome('prop-1', [], 1)] })
    expect(rank({ mayor: [[], []] })).toMatchObject({ contests: [outcome('mayor', [], 1), outcome('prop-1', [], 1)] })
  })

  it('sorts an overvoted rank and drops blank ranks after the last mark in the box', () => {
    const t = rank({ mayor: [['di', 'ann'], 'bo', []] })
    expect(t.ok && t.marks.mayor).toEqual([['ann', 'di'], ['bo']])
    const blank = rank({ mayor: [[], []] })
    expect(blank.ok && blank.marks.mayor).toEqual([])
  })

  it('keeps a repeated candidate at a later rank for the rounds to judge', () => {
    const t = rank({ mayor: ['ann', 'ann', 'bo'] })
    expect(t.ok && t.marks.mayor).toEqual([['ann'], ['ann'], ['bo']])
  })

  it('rejects a ranking past the ranks allowed, an unknown candidate, a candidate twice at one rank, a name written in', () => {
    expect(rank({ mayor: ['ann', 'bo', 'cy', 'di'] })).toMatchObject({ ok: false, reason: 'rank_beyond_limit' })
    expect(rank({ mayor: ['ann', [], [], []] })).toMatchObject({ ok: false, reason: 'rank_beyond_limit' })
    expect(rank({ mayor: ['zed'] })).toMatchObject({ ok: false, reason: 'unknown_selection' })
    expect(rank({ mayor: [['bo', 'bo']] })).toMatchObject({ ok: false, reason: 'malformed_mark' })
    expect(rank({ mayor: [{ writeIn: 'Jane' }] })).toMatchObject({ ok: false, reason: 'write_in_not_allowed' })
  })

  it('rejects ranks in a contest that is not ranked', () => {
    expect(rank({ 'prop-1': [['yes']] })).toMatchObject({ ok: false, reason: 'malformed_mark' })
  })

  it('keeps the invariant: first choice, overvote or undervote, one of the three per ballot', () => {
    for (const marks of [{ mayor: ['ann'] }, { mayor: [['ann', 'bo']] }, {}, { mayor: [[], [], 'di'] }] as Marks[]) {
      const t = rank(marks)
      const c = t.ok ? t.contests[0] : undefined
      expect(c && c.selections.length + c.undervotes + c.overvoted).toBe(1)
    }
  })
})
