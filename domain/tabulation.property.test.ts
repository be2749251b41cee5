import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CHANNELS, decodeBallot, encodeBallot, type Mark, type Marks, type RejectionReason } from './ballot.ts'
import {
  type ContestRules,
  countedSelectionIds,
  type ElectionDefinitionInput,
  electionDefinitionSchema,
  type RegionPlace,
  type ResolvedDefinition,
  resolveDefinition,
  WRITE_IN_SELECTION,
} from './contests.ts'
import { type ContestCell, cellBalances, indexDefinition, type TabulationIndex, tabulateBallot } from './tabulation.ts'

/**
 * Random elections (1–6 contests of both kinds, vote for 1–4, write-in lines or not, over
 * districts by state, by region list and the whole election) and random ballots (blanks,
 * overvotes, write-ins, and now and then a mark that does not belong): every ballot counted
 * gives one outcome per contest of its style, each as an independent reading of the rules
 * says, and every contest × region × channel cell balances; every ballot rejected is
 * rejected for a reason the ballot really has.
 */

/** The reasons tabulation may give; anything else is a bug. */
const TABULATION_REASONS: RejectionReason[] = [
  'unknown_region',
  'unknown_contest',
  'contest_not_on_style',
  'unknown_selection',
  'write_in_not_allowed',
  'malformed_mark',
]

const STATES = ['AA', 'BB', 'CC']

const contestArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        candidates: fc.integer({ min: 1, max: 5 }),
        writeIns: fc.boolean(),
        votes: fc.integer({ min: 1, max: 4 }),
        district: fc.nat({ max: 3 }),
        declaredWriteIn: fc.boolean(),
      })
      .map((c) => ({ type: 'candidate' as const, ...c, votes: c.writeIns ? c.votes : Math.min(c.votes, c.candidates) })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      district: fc.nat({ max: 3 }),
      threshold: fc.constantFrom(undefined, '2/3', 0.55, 1),
    }),
  },
)

const electionArb = fc.record({
  regions: fc.array(fc.constantFrom(...STATES), { minLength: 1, maxLength: 5 }),
  /** Which regions (by index, taken modulo the number of regions) the region-list district covers. */
  someRegions: fc.uniqueArray(fc.nat({ max: 4 }), { minLength: 1, maxLength: 5 }),
  contests: fc.array(contestArb, { minLength: 1, maxLength: 6 }),
})

type ElectionSpec = typeof electionArb extends fc.Arbitrary<infer T> ? T : never

function buildElection(spec: ElectionSpec): { input: ElectionDefinitionInput; regions: RegionPlace[] } {
  const regions = spec.regions.map((state, i) => ({ id: `r${i}`, state }))
  const firstState = regions[0]?.state ?? 'AA'
  const districts: ElectionDefinitionInput['districts'] = [
    { id: 'all', name: 'Whole election' },
    { id: 'by-state', name: 'One state', level: 'state', states: [firstState] },
    { id: 'by-list', name: 'Some precincts', regions: [...new Set(spec.someRegions.map((i) => `r${i % regions.length}`))] },
    { id: 'pair', name: 'Two states', states: [...new Set([firstState, regions[regions.length - 1]?.state ?? firstState])] },
  ]
  const ids = ['all', 'by-state', 'by-list', 'pair']
  const contests: ElectionDefinitionInput['contests'] = spec.contests.map((c, i) => {
    const common = { id: `k${i}`, name: `Contest ${i}`, district: ids[c.district] ?? 'all' }
    if ('type' in c)
      return {
        ...common,
        type: 'candidate' as const,
        votesAllowed: c.votes,
        writeIns: c.writeIns,
        candidates: Array.from({ length: c.candidates }, (_, j) => ({
          id: `k${i}-s${j}`,
          name: `Candidate ${j}`,
          writeIn: c.declaredWriteIn && j === c.candidates - 1,
        })),
      }
    return { ...common, type: 'measure' as const, ...(c.threshold === undefined ? {} : { threshold: c.threshold }) }
  })
  return { input: { districts, contests }, regions }
}

/**
 * A ballot as choices, made into marks against the election once it is known: marks that
 * belong (blanks, partial votes, overvotes, write-ins where there is a line), and on one
 * ballot in four a fault: a mark or a contest that does not belong.
 */
const markChoiceArb = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 9 }).map((n) => ({ kind: 'declared' as const, n })) },
  { weight: 1, arbitrary: fc.constantFrom('Jane Q. Public', 'John Roe', ' Zoë ').map((name) => ({ kind: 'write-in' as const, name })) },
)

const entryArb = fc.record({
  /** Which contest of the style (modulo its length). */
  n: fc.nat(),
  /** Distinct declared selections while any are left, write-ins where allowed: how many is how likely an overvote. */
  marks: fc.array(markChoiceArb, { maxLength: 6 }),
})

const FAULTS = ['off-style', 'ghost-contest', 'unknown-selection', 'write-in-id', 'repeat', 'write-in-anywhere'] as const

const ballotArb = fc.record({
  region: fc.oneof({ weight: 30, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constant(-1) }),
  channel: fc.constantFrom(...CHANNELS),
  entries: fc.array(entryArb, { maxLength: 7 }),
  fault: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom(...FAULTS), n: fc.nat() }) },
  ),
})

type BallotSpec = typeof ballotArb extends fc.Arbitrary<infer T> ? T : never

function buildBallot(spec: BallotSpec, resolved: ResolvedDefinition, regions: RegionPlace[]): { regionId: string; marks: Marks } {
  const regionId = spec.region < 0 ? 'nowhere' : (regions[spec.region % regions.length]?.id ?? 'nowhere')
  const style = resolved.styles.get(resolved.styleOfRegion.get(regionId) ?? '') ?? resolved.contests.map((c) => c.id)
  const rules = (id: string) => resolved.contests.find((c) => c.id === id)
  const marks: Record<string, Mark[]> = {}
  for (const e of spec.entries) {
    const contestId = style[e.n % style.length] ?? 'ghost-contest'
    const contest = rules(contestId)
    const pool = [...(contest?.selections.map((s) => s.id) ?? [])]
    const made: Mark[] = []
    for (const m of e.marks) {
      if (m.kind === 'declared') {
        if (pool.length === 0) continue
        const [s] = pool.splice(m.n % pool.length, 1)
        if (s !== undefined) made.push(s)
      } else if (contest?.writeIns) made.push({ writeIn: m.name.trim() })
    }
    marks[contestId] = made
  }
  const f = spec.fault
  if (f) {
    const keys = Object.keys(marks)
    const contestId = keys[f.n % Math.max(1, keys.length)] ?? style[f.n % style.length] ?? 'ghost-contest'
    const made = marks[contestId] ?? []
    const declared = rules(contestId)?.selections.map((s) => s.id) ?? ['yes']
    marks[contestId] = made
    if (f.kind === 'off-style') {
      const other = resolved.contests[f.n % resolved.contests.length]?.id ?? 'ghost-contest'
      marks[other] = marks[other] ?? []
    } else if (f.kind === 'ghost-contest') marks['ghost-contest'] = ['yes']
    else if (f.kind === 'unknown-selection') made.push('nobody')
    else if (f.kind === 'write-in-id') made.push(WRITE_IN_SELECTION)
    else if (f.kind === 'write-in-anywhere') made.push({ writeIn: 'Anybody' })
    else {
      const first = made.find((x) => typeof x === 'string') ?? declared[f.n % declared.length] ?? 'yes'
      made.push(first, first)
    }
  }
  return { regionId, marks }
}

/** The reasons a ballot gives for its rejection, read off the rules directly; empty: it must count. */
function reasonsToReject(resolved: ResolvedDefinition, regionId: string, marks: Marks): Set<RejectionReason> {
  const styleId = resolved.styleOfRegion.get(regionId)
  if (styleId === undefined) return new Set(['unknown_region'])
  const style = resolved.styles.get(styleId) ?? []
  const reasons = new Set<RejectionReason>()
  for (const [contestId, made] of Object.entries(marks)) {
    const contest = resolved.contests.find((c) => c.id === contestId)
    if (!contest) {
      reasons.add('unknown_contest')
      continue
    }
    if (!style.includes(contestId)) {
      reasons.add('contest_not_on_style')
      continue
    }
    const ids = made.filter((m): m is string => typeof m === 'string')
    for (const id of ids) if (!contest.selections.some((s) => s.id === id)) reasons.add('unknown_selection')
    if (new Set(ids).size !== ids.length) reasons.add('malformed_mark')
    if (!contest.writeIns && made.some((m) => typeof m !== 'string')) reasons.add('write_in_not_allowed')
  }
  return reasons
}

/** What a counted contest must yield, read off the rules directly. */
function expectedOutcome(contest: ContestRules, made: Mark[]) {
  if (made.length > contest.votesAllowed) return { contestId: contest.id, selections: [], undervotes: 0, overvoted: 1 }
  return {
    contestId: contest.id,
    selections: made.map((m) => (typeof m === 'string' ? m : WRITE_IN_SELECTION)),
    undervotes: contest.votesAllowed - made.length,
    overvoted: 0,
  }
}

interface Seen {
  counted: number
  rejected: number
  overvotes: number
  undervotes: number
  writeIns: number
  reasons: Set<string>
}

function checkElection(
  spec: ElectionSpec,
  ballots: BallotSpec[],
  seen: Seen,
  tabulate: (index: TabulationIndex, regionId: string, marks: Marks) => ReturnType<typeof tabulateBallot>,
) {
  const { input, regions } = buildElection(spec)
  const definition = electionDefinitionSchema.parse(input)
  const r = resolveDefinition(definition, regions)
  // Only a region no contest reaches makes these definitions unresolvable.
  if (!r.ok) {
    expect(r.issues.every((i) => i.path[0] === 'regions')).toBe(true)
    return false
  }
  const { resolved } = r
  const index = indexDefinition(resolved)
  const cells = new Map<string, ContestCell & { bySelection: Map<string, number> }>()

  for (const b of ballots) {
    const { regionId, marks } = buildBallot(b, resolved, regions)
    const t = tabulate(index, regionId, marks)
    const reasons = reasonsToReject(resolved, regionId, marks)
    if (!t.ok) {
      seen.rejected++
      seen.reasons.add(t.reason)
      expect(TABULATION_REASONS).toContain(t.reason)
      expect([...reasons], `${regionId} ${JSON.stringify(marks)}`).toContain(t.reason)
      expect(t.detail.length).toBeGreaterThan(0)
      continue
    }
    expect(reasons.size, `${regionId} ${JSON.stringify(marks)} should be rejected: ${[...reasons]}`).toBe(0)
    seen.counted++
    const style = resolved.styles.get(t.styleId)
    expect(t.styleId).toBe(resolved.styleOfRegion.get(regionId))
    // Exactly one outcome per contest on the style, in its order.
    expect(t.contests.map((c) => c.contestId)).toEqual(style)
    for (const o of t.contests) {
      const contest = index.contests.get(o.contestId) as ContestRules
      expect(o).toEqual(expectedOutcome(contest, marks[o.contestId] ?? []))
      const lines = countedSelectionIds(contest)
      for (const s of o.selections) expect(lines).toContain(s)
      seen.overvotes += o.overvoted
      seen.undervotes += o.undervotes
      seen.writeIns += o.selections.filter((s) => s === WRITE_IN_SELECTION).length
      const key = `${o.contestId}|${regionId}|${b.channel}`
      const cell = cells.get(key) ?? {
        votesAllowed: contest.votesAllowed,
        ballots: 0,
        undervotes: 0,
        overvotes: 0,
        selectionVotes: 0,
        bySelection: new Map<string, number>(lines.map((s) => [s, 0])),
      }
      cell.ballots++
      cell.undervotes += o.undervotes
      cell.overvotes += o.overvoted
      for (const s of o.selections) cell.bySelection.set(s, (cell.bySelection.get(s) ?? 0) + 1)
      cells.set(key, cell)
    }
  }

  for (const [key, cell] of cells) {
    // The selection votes as the count rows would sum them: one row per counted selection id.
    const selectionVotes = [...cell.bySelection.values()].reduce((s, n) => s + n, 0)
    const [contestId] = key.split('|')
    expect(cell.bySelection.size, key).toBe(countedSelectionIds(index.contests.get(contestId ?? '') as ContestRules).length)
    expect(cellBalances({ ...cell, selectionVotes }), `${key} ${JSON.stringify({ ...cell, bySelection: undefined, selectionVotes })}`).toBe(
      true,
    )
  }
  return true
}

describe('tabulation of random ballots in random elections', () => {
  it('counts each ballot once per contest of its style, balances every cell, and rejects only for a reason the ballot has', () => {
    const seen: Seen = { counted: 0, rejected: 0, overvotes: 0, undervotes: 0, writeIns: 0, reasons: new Set() }
    let resolvedElections = 0
    fc.assert(
      fc.property(electionArb, fc.array(ballotArb, { minLength: 1, maxLength: 40 }), (spec, ballots) => {
        if (checkElection(spec, ballots, seen, tabulateBallot)) resolvedElections++
      }),
      { numRuns: 400 },
    )
    // The generators reach what they are for.
    expect(resolvedElections).toBeGreaterThan(100)
    expect(seen.counted).toBeGreaterThan(1000)
    expect(seen.rejected).toBeGreaterThan(100)
    expect(seen.overvotes).toBeGreaterThan(100)
    expect(seen.undervotes).toBeGreaterThan(100)
    expect(seen.writeIns).toBeGreaterThan(100)
    expect([...seen.reasons].sort()).toEqual([...TABULATION_REASONS].sort())
  })

  it('counts a ballot the same after it has been through the ballot contract (encode, decode)', () => {
    const seen: Seen = { counted: 0, rejected: 0, overvotes: 0, undervotes: 0, writeIns: 0, reasons: new Set() }
    fc.assert(
      fc.property(electionArb, fc.array(ballotArb, { minLength: 1, maxLength: 20 }), (spec, ballots) => {
        checkElection(spec, ballots, seen, (index, regionId, marks) => {
          const direct = tabulateBallot(index, regionId, marks)
          const d = decodeBallot(
            encodeBallot({
              v: 2,
              ballotId: '3b241101-e2bb-4255-8caf-4136c566a962',
              electionId: 'e1',
              voterId: 'v1',
              regionId,
              channel: 'mail',
              castAt: '2026-11-03T15:04:05.000Z',
              marks,
            }),
          )
          if (!d.ok || d.ballot.v !== 2) throw new Error(`the contract refused a ballot of well-formed marks: ${JSON.stringify(d)}`)
          const decoded = tabulateBallot(index, d.ballot.regionId, d.ballot.marks)
          expect(decoded).toEqual(direct)
          return decoded
        })
      }),
      { numRuns: 150 },
    )
    expect(seen.counted).toBeGreaterThan(100)
  })
})
