import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CHANNELS, type Mark, type Marks } from './ballot.ts'
import {
  BALLOTS_KEY,
  type ElectionDefinitionInput,
  electionDefinitionSchema,
  type RegionPlace,
  type ResolvedDefinition,
  resolveDefinition,
  WRITE_IN_SELECTION,
} from './contests.ts'
import { countLayout, SLOT, sumVectors, type VectorRow, vectorIndex } from './count-vector.ts'
import {
  addRunningVectors,
  type ContestDifference,
  compareGrids,
  type Grid,
  newGrid,
  OVERVOTES,
  type RecountDefinition,
  recountBallot,
  UNDERVOTES,
} from './recount.ts'
import { indexDefinition, tabulateBallot } from './tabulation.ts'

/**
 * The recount (recount.ts, the second tabulator) against the counter (tabulation.ts →
 * count-vector.ts): hand-counted ballots of a small election give the cells counted by
 * hand on both sides; a running side that lost, gained or moved a vote shows exactly
 * where; random valid ballots of random elections recount to no difference at all.
 */

// ---------------------------------------------------------------------------------------
// Shared plumbing: the definition as the recount reads it, the counter's path to vectors.

/** The definition as `ballot_styles`, `contests` and `contest_selections` store it. */
function recountDefinitionOf(resolved: ResolvedDefinition, reverse = false): RecountDefinition {
  const contests = resolved.contests.map(
    (c) => [c.id, { votesAllowed: c.votesAllowed, writeIns: c.writeIns, selections: c.selections.map((s) => s.id) }] as const,
  )
  // The database gives contests in no particular order: the recount must not depend on it.
  if (reverse) contests.reverse()
  return { styles: new Map(resolved.styles), contests: new Map(contests) }
}

/** The stored layout (`style_contests`) as the recount reads it: per style, its contests with their 1-based `at`. */
function layoutRows(resolved: ResolvedDefinition): Map<string, Array<{ contestId: string; at: number }>> {
  return new Map([...countLayout(resolved)].map(([styleId, at]) => [styleId, [...at].map(([contestId, n]) => ({ contestId, at: n }))]))
}

interface BoxBallot {
  regionId: string
  channel: string
  marks: Marks
  partition?: number
}

/** The counter's path: tabulate each ballot, sum into one vector per region × channel × partition. */
function countVectors(resolved: ResolvedDefinition, ballots: BoxBallot[]): VectorRow[] {
  const index = indexDefinition(resolved)
  const vectors = vectorIndex(resolved, countLayout(resolved))
  const judged = ballots.map((b) => {
    const t = tabulateBallot(index, b.regionId, b.marks)
    if (!t.ok) throw new Error(`the counter rejected ${JSON.stringify(b)}: ${t.detail}`)
    return {
      electionId: 'e',
      regionId: b.regionId,
      channel: b.channel,
      partition: b.partition ?? 0,
      styleId: t.styleId,
      contests: t.contests,
    }
  })
  return sumVectors(judged, () => vectors)
}

function runningGrid(resolved: ResolvedDefinition, definition: RecountDefinition, rows: VectorRow[]): Grid {
  const grid = newGrid(definition)
  addRunningVectors(grid, rows, layoutRows(resolved))
  return grid
}

function recountGrid(resolved: ResolvedDefinition, definition: RecountDefinition, ballots: BoxBallot[]): Grid {
  const grid = newGrid(definition)
  for (const b of ballots)
    recountBallot(grid, definition, {
      styleId: resolved.styleOfRegion.get(b.regionId) as string,
      regionId: b.regionId,
      channel: b.channel,
      marks: JSON.stringify(b.marks),
    })
  return grid
}

/** Every non-zero cell of a grid, by contest|line|region|channel (the `others` included). */
function cellsOf(grid: Grid): Record<string, number> {
  const out: Record<string, number> = {}
  for (const { regionId, channel, n } of grid.rows.values())
    for (const c of grid.space.contests)
      for (const [i, line] of c.lines.entries()) {
        const v = n[c.at + i] as number
        if (v !== 0) out[`${c.id}|${line}|${regionId}|${channel}`] = v
      }
  for (const [k, v] of grid.others) if (v !== 0) out[k.split('\u0000').join('|')] = v
  return out
}

const diff = (
  contestId: string,
  line: string,
  regionId: string,
  channel: string,
  recounted: number,
  running: number,
): ContestDifference => ({
  contestId,
  line,
  regionId,
  channel,
  recounted,
  running,
})

// ---------------------------------------------------------------------------------------
// A small election, counted by hand.
//
// - mayor: vote for 1 of ada, alan; no write-in line; everywhere
// - council: vote for 2 of a, b, c, with a write-in line; everywhere
// - q: a measure (yes, no); region n2 only
//
// n1 has style [mayor, council], n2 [mayor, council, q].

const input: ElectionDefinitionInput = {
  districts: [
    { id: 'all', name: 'Everywhere' },
    { id: 'north', name: 'North', level: 'city', regions: ['n2'] },
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
    { id: 'q', name: 'Question', type: 'measure', district: 'north' },
  ],
}

const resolved = (() => {
  const r = resolveDefinition(electionDefinitionSchema.parse(input), [
    { id: 'n1', state: 'NV' },
    { id: 'n2', state: 'NV' },
  ])
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.resolved
})()
const definition = recountDefinitionOf(resolved)
const styleOf = (regionId: string) => resolved.styleOfRegion.get(regionId) as string

const BALLOTS: BoxBallot[] = [
  // mayor: ada. council: a + a write-in (no undervote).
  { regionId: 'n1', channel: 'mail', partition: 0, marks: { mayor: ['ada'], council: ['a', { writeIn: 'Zed' }] } },
  // mayor overvoted (nothing counted, no undervote); council blank: 2 undervotes.
  { regionId: 'n1', channel: 'mail', partition: 1, marks: { mayor: ['ada', 'alan'], council: [] } },
  // mayor left out: 1 undervote; council: b and 1 undervote.
  { regionId: 'n1', channel: 'early', marks: { council: ['b'] } },
  // mayor: alan; council overvoted (3 of 2); q: yes.
  { regionId: 'n2', channel: 'mail', marks: { mayor: ['alan'], council: ['a', 'b', 'c'], q: ['yes'] } },
  // mayor left out: 1 undervote; council: two write-ins; q: no.
  { regionId: 'n2', channel: 'mail', partition: 2, marks: { q: ['no'], council: [{ writeIn: 'Ann' }, { writeIn: 'Bo' }] } },
]

/**
 * The non-zero cells of those five ballots, counted by hand, in the order compareGrids
 * sorts its differences (contest, line, region, channel; ':' sorts before letters).
 */
const HAND: Array<[string, string, string, string, number]> = [
  ['council', BALLOTS_KEY, 'n1', 'early', 1],
  ['council', BALLOTS_KEY, 'n1', 'mail', 2],
  ['council', BALLOTS_KEY, 'n2', 'mail', 2],
  ['council', OVERVOTES, 'n2', 'mail', 1],
  ['council', UNDERVOTES, 'n1', 'early', 1],
  ['council', UNDERVOTES, 'n1', 'mail', 2],
  ['council', 'a', 'n1', 'mail', 1],
  ['council', 'b', 'n1', 'early', 1],
  ['council', WRITE_IN_SELECTION, 'n1', 'mail', 1],
  ['council', WRITE_IN_SELECTION, 'n2', 'mail', 2],
  ['mayor', BALLOTS_KEY, 'n1', 'early', 1],
  ['mayor', BALLOTS_KEY, 'n1', 'mail', 2],
  ['mayor', BALLOTS_KEY, 'n2', 'mail', 2],
  ['mayor', OVERVOTES, 'n1', 'mail', 1],
  ['mayor', UNDERVOTES, 'n1', 'early', 1],
  ['mayor', UNDERVOTES, 'n2', 'mail', 1],
  ['mayor', 'ada', 'n1', 'mail', 1],
  ['mayor', 'alan', 'n2', 'mail', 1],
  ['q', BALLOTS_KEY, 'n2', 'mail', 2],
  ['q', 'no', 'n2', 'mail', 1],
  ['q', 'yes', 'n2', 'mail', 1],
]
const HAND_CELLS = Object.fromEntries(HAND.map(([c, l, r, ch, n]) => [`${c}|${l}|${r}|${ch}`, n]))
/** Contest × region × channel cells carrying a ballot: n1/mail 2, n1/early 2, n2/mail 3. */
const HAND_CONTEST_CELLS = 7
/** Σ over the ballots of the contests on their style: 2 + 2 + 2 + 3 + 3. */
const HAND_CONTEST_BALLOTS = 12

/** Adds n to one line of a contest in the first vector row of region × channel, through the stored layout. */
function tamper(rows: VectorRow[], regionId: string, channel: string, contestId: string, line: string, n: number): void {
  const row = rows.find((r) => r.regionId === regionId && r.channel === channel)
  if (!row) throw new Error(`no vector for ${regionId} ${channel}`)
  const at = (countLayout(resolved).get(row.styleId)?.get(contestId) as number) - 1
  const fixed: Record<string, number> = {
    [BALLOTS_KEY]: SLOT.ballots,
    [UNDERVOTES]: SLOT.undervotes,
    [OVERVOTES]: SLOT.overvotes,
    [WRITE_IN_SELECTION]: SLOT.writeIn,
  }
  const selections = definition.contests.get(contestId)?.selections ?? []
  const slot = fixed[line] ?? SLOT.firstSelection + selections.indexOf(line)
  row.counts[at + slot] = (row.counts[at + slot] as number) + n
}

describe('recount of hand-counted ballots', () => {
  it('recounts each cell as counted by hand', () => {
    const recounted = recountGrid(resolved, definition, BALLOTS)
    expect(cellsOf(recounted)).toEqual(HAND_CELLS)
    expect(recounted.others.size).toBe(0)
    // The recount's own cells balance.
    expect(compareGrids(null, recounted)).toEqual({
      differences: [],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 0,
      contestBallots: HAND_CONTEST_BALLOTS,
    })
  })

  it('against an empty running side, differs in exactly the non-zero cells, in contest, line, region, channel order', () => {
    const recounted = recountGrid(resolved, definition, BALLOTS)
    const result = compareGrids(recounted, newGrid(definition))
    expect(result).toEqual({
      differences: HAND.map(([c, l, r, ch, n]) => diff(c, l, r, ch, n, 0)),
      cells: 0,
      unbalanced: 0,
      contestBallots: 0,
    })
    expect(result.differences).toHaveLength(21)
    // The limit keeps the first differences in that order.
    expect(compareGrids(recounted, newGrid(definition), 2).differences).toEqual([
      diff('council', BALLOTS_KEY, 'n1', 'early', 1, 0),
      diff('council', BALLOTS_KEY, 'n1', 'mail', 2, 0),
    ])
  })

  it('agrees with the counter on the same ballots: no difference, every cell balanced, the hand-counted cells and ballots', () => {
    const rows = countVectors(resolved, BALLOTS)
    // n1/mail comes in two partitions: the running side sums them.
    expect(rows.map((r) => `${r.regionId}/${r.channel}/${r.partition}`)).toEqual([
      'n1/early/0',
      'n1/mail/0',
      'n1/mail/1',
      'n2/mail/0',
      'n2/mail/2',
    ])
    const running = runningGrid(resolved, definition, rows)
    expect(cellsOf(running)).toEqual(HAND_CELLS)
    const recounted = recountGrid(resolved, definition, BALLOTS)
    expect(compareGrids(recounted, running)).toEqual({
      differences: [],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 0,
      contestBallots: HAND_CONTEST_BALLOTS,
    })
  })

  it('does not depend on the order the definition lists its contests in', () => {
    const reversed = recountDefinitionOf(resolved, true)
    expect([...reversed.contests.keys()]).toEqual(['q', 'council', 'mayor'])
    const recounted = recountGrid(resolved, reversed, BALLOTS)
    expect(cellsOf(recounted)).toEqual(HAND_CELLS)
    const running = runningGrid(resolved, reversed, countVectors(resolved, BALLOTS))
    expect(compareGrids(recounted, running)).toEqual({
      differences: [],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 0,
      contestBallots: HAND_CONTEST_BALLOTS,
    })
  })
})

describe('recount: what a difference looks like', () => {
  const recounted = () => recountGrid(resolved, definition, BALLOTS)

  it('finds a vote moved between two selections as exactly two differences; the moved cell still balances', () => {
    const rows = countVectors(resolved, BALLOTS)
    tamper(rows, 'n1', 'mail', 'mayor', 'ada', -1)
    tamper(rows, 'n1', 'mail', 'mayor', 'alan', +1)
    expect(compareGrids(recounted(), runningGrid(resolved, definition, rows))).toEqual({
      differences: [diff('mayor', 'ada', 'n1', 'mail', 1, 0), diff('mayor', 'alan', 'n1', 'mail', 0, 1)],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 0,
      contestBallots: HAND_CONTEST_BALLOTS,
    })
  })

  it('finds a vote moved from a selection to the write-in line, naming the channel it was moved in', () => {
    const rows = countVectors(resolved, BALLOTS)
    tamper(rows, 'n1', 'early', 'council', 'b', -1)
    tamper(rows, 'n1', 'early', 'council', WRITE_IN_SELECTION, +1)
    const result = compareGrids(recounted(), runningGrid(resolved, definition, rows))
    expect(result.differences).toEqual([
      diff('council', 'b', 'n1', 'early', 1, 0),
      diff('council', WRITE_IN_SELECTION, 'n1', 'early', 0, 1),
    ])
    expect(result.unbalanced).toBe(0)
  })

  it('finds a vote added as one difference and one unbalanced cell', () => {
    const rows = countVectors(resolved, BALLOTS)
    tamper(rows, 'n2', 'mail', 'council', 'c', +1)
    expect(compareGrids(recounted(), runningGrid(resolved, definition, rows))).toEqual({
      differences: [diff('council', 'c', 'n2', 'mail', 0, 1)],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 1,
      contestBallots: HAND_CONTEST_BALLOTS,
    })
  })

  it('finds an undervote lost as one difference and one unbalanced cell (the invariant alone sees it too)', () => {
    const rows = countVectors(resolved, BALLOTS)
    tamper(rows, 'n2', 'mail', 'mayor', UNDERVOTES, -1)
    const running = runningGrid(resolved, definition, rows)
    expect(compareGrids(recounted(), running).differences).toEqual([diff('mayor', UNDERVOTES, 'n2', 'mail', 1, 0)])
    expect(compareGrids(null, running)).toEqual({
      differences: [],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 1,
      contestBallots: HAND_CONTEST_BALLOTS,
    })
  })

  it('finds a ballot missing from the running side in every line of its contests it counted on', () => {
    // The last ballot: n2 mail, mayor blank, council two write-ins, q no.
    const running = runningGrid(resolved, definition, countVectors(resolved, BALLOTS.slice(0, 4)))
    expect(compareGrids(recounted(), running)).toEqual({
      differences: [
        diff('council', BALLOTS_KEY, 'n2', 'mail', 2, 1),
        diff('council', WRITE_IN_SELECTION, 'n2', 'mail', 2, 0),
        diff('mayor', BALLOTS_KEY, 'n2', 'mail', 2, 1),
        diff('mayor', UNDERVOTES, 'n2', 'mail', 1, 0),
        diff('q', BALLOTS_KEY, 'n2', 'mail', 2, 1),
        diff('q', 'no', 'n2', 'mail', 1, 0),
      ],
      cells: HAND_CONTEST_CELLS,
      unbalanced: 0,
      contestBallots: HAND_CONTEST_BALLOTS - 3,
    })
  })

  it('finds the only ballot of a region × channel missing: the whole row differs, and its cells are gone from the running side', () => {
    const running = runningGrid(
      resolved,
      definition,
      countVectors(
        resolved,
        BALLOTS.filter((b) => b.channel !== 'early'),
      ),
    )
    expect(compareGrids(recounted(), running)).toEqual({
      differences: [
        diff('council', BALLOTS_KEY, 'n1', 'early', 1, 0),
        diff('council', UNDERVOTES, 'n1', 'early', 1, 0),
        diff('council', 'b', 'n1', 'early', 1, 0),
        diff('mayor', BALLOTS_KEY, 'n1', 'early', 1, 0),
        diff('mayor', UNDERVOTES, 'n1', 'early', 1, 0),
      ],
      cells: HAND_CONTEST_CELLS - 2,
      unbalanced: 0,
      contestBallots: HAND_CONTEST_BALLOTS - 2,
    })
  })

  it('finds a ballot the running side counted and the box lacks, the other way round', () => {
    const running = runningGrid(resolved, definition, countVectors(resolved, BALLOTS))
    const lessBox = recountGrid(resolved, definition, BALLOTS.slice(1))
    // The first ballot: n1 mail, mayor ada, council a + write-in.
    expect(compareGrids(lessBox, running).differences).toEqual([
      diff('council', BALLOTS_KEY, 'n1', 'mail', 1, 2),
      diff('council', 'a', 'n1', 'mail', 0, 1),
      diff('council', WRITE_IN_SELECTION, 'n1', 'mail', 0, 1),
      diff('mayor', BALLOTS_KEY, 'n1', 'mail', 1, 2),
      diff('mayor', 'ada', 'n1', 'mail', 0, 1),
    ])
  })

  it('shows a mark naming an undeclared selection as a difference on a line of that name, not dropped', () => {
    const running = runningGrid(resolved, definition, countVectors(resolved, BALLOTS))
    const box = recounted()
    recountBallot(box, definition, { styleId: styleOf('n1'), regionId: 'n1', channel: 'mail', marks: JSON.stringify({ mayor: ['bob'] }) })
    expect(cellsOf(box)['mayor|bob|n1|mail']).toBe(1)
    expect(compareGrids(box, running).differences).toEqual([
      // The ballot itself: counted in both contests of its style, council blank.
      diff('council', BALLOTS_KEY, 'n1', 'mail', 3, 2),
      diff('council', UNDERVOTES, 'n1', 'mail', 4, 2),
      diff('mayor', BALLOTS_KEY, 'n1', 'mail', 3, 2),
      // One mark in a vote-for-1: no undervote; the mark on a line of its own name.
      diff('mayor', 'bob', 'n1', 'mail', 1, 0),
    ])
  })

  it('shows an undeclared selection in an overvoted contest as the overvote only (nothing in an overvote counts)', () => {
    const box = newGrid(definition)
    recountBallot(box, definition, {
      styleId: styleOf('n1'),
      regionId: 'n1',
      channel: 'mail',
      marks: JSON.stringify({ mayor: ['bob', 'ada'] }),
    })
    expect(cellsOf(box)).toEqual({
      'mayor|:ballots|n1|mail': 1,
      'mayor|:overvotes|n1|mail': 1,
      'council|:ballots|n1|mail': 1,
      'council|:undervotes|n1|mail': 2,
    })
  })

  it('shows a write-in in a contest with no write-in line on that contest’s write-in line', () => {
    const box = newGrid(definition)
    recountBallot(box, definition, {
      styleId: styleOf('n1'),
      regionId: 'n1',
      channel: 'early',
      marks: JSON.stringify({ mayor: [{ writeIn: 'Zed' }] }),
    })
    expect(compareGrids(box, newGrid(definition)).differences).toEqual([
      diff('council', BALLOTS_KEY, 'n1', 'early', 1, 0),
      diff('council', UNDERVOTES, 'n1', 'early', 2, 0),
      diff('mayor', BALLOTS_KEY, 'n1', 'early', 1, 0),
      diff('mayor', WRITE_IN_SELECTION, 'n1', 'early', 1, 0),
    ])
  })

  it('shows the write-in line named by a string mark (which the counter rejects) on the write-in line, not dropped', () => {
    const box = newGrid(definition)
    recountBallot(box, definition, {
      styleId: styleOf('n1'),
      regionId: 'n1',
      channel: 'mail',
      marks: JSON.stringify({ council: ['write-in'] }),
    })
    expect(tabulateBallot(indexDefinition(resolved), 'n1', { council: ['write-in'] })).toMatchObject({
      ok: false,
      reason: 'unknown_selection',
    })
    expect(compareGrids(box, newGrid(definition)).differences).toContainEqual(diff('council', WRITE_IN_SELECTION, 'n1', 'mail', 1, 0))
  })

  it('keeps marks in a contest not on the ballot’s style or not in the election apart, as differences (the counter would have rejected the ballot)', () => {
    const marks = { mayor: ['ada'], q: ['yes'], senate: ['x'] }
    const index = indexDefinition(resolved)
    expect(tabulateBallot(index, 'n1', { mayor: ['ada'], q: ['yes'] })).toMatchObject({ ok: false, reason: 'contest_not_on_style' })
    expect(tabulateBallot(index, 'n1', { mayor: ['ada'], senate: ['x'] })).toMatchObject({ ok: false, reason: 'unknown_contest' })
    const box = newGrid(definition)
    recountBallot(box, definition, { styleId: styleOf('n1'), regionId: 'n1', channel: 'mail', marks: JSON.stringify(marks) })
    // The style's contests are recounted; q and senate are kept apart, by name, as differences.
    expect(cellsOf(box)).toMatchObject({
      'mayor|:ballots|n1|mail': 1,
      'mayor|ada|n1|mail': 1,
      'council|:ballots|n1|mail': 1,
      'council|:undervotes|n1|mail': 2,
    })
    expect(compareGrids(box, box).differences).toEqual([])
    expect([...box.others.keys()].map((k) => k.split('\u0000').slice(0, 2).join('|')).sort()).toEqual([
      'q|(marked, not on the style)',
      'senate|(marked, not on the style)',
    ])
  })

  it('keeps a malformed box row apart: marks that are not an object, a contest that is not a list, a mark that is neither a name nor a write-in', () => {
    const box = newGrid(definition)
    const at = { styleId: styleOf('n1'), regionId: 'n1', channel: 'mail' }
    recountBallot(box, definition, { ...at, marks: 'null' })
    recountBallot(box, definition, { ...at, marks: JSON.stringify({ mayor: 'ada' }) })
    recountBallot(box, definition, { ...at, marks: JSON.stringify({ mayor: [7] }) })
    expect([...box.others.entries()].map(([k, n]) => [k.split('\u0000').slice(0, 2).join('|'), n]).sort()).toEqual([
      ['(ballot)|(marks not an object)', 1],
      ['mayor|(malformed mark)', 1],
      ['mayor|(marks not a list)', 1],
    ])
    expect(compareGrids(box, newGrid(definition)).differences.length).toBeGreaterThan(3)
  })

  it('keeps a ballot of a style the definition lacks apart, as a difference under the style’s name', () => {
    const box = newGrid(definition)
    recountBallot(box, definition, { styleId: 'style-9', regionId: 'n1', channel: 'mail', marks: JSON.stringify({ mayor: ['ada'] }) })
    expect(compareGrids(box, newGrid(definition)).differences).toEqual([diff('(style style-9)', BALLOTS_KEY, 'n1', 'mail', 1, 0)])
  })
})

describe('recount: ids that are names of Object.prototype', () => {
  it('counts a contest called constructor blank when the marks leave it out, and its selections by name, as the counter does', () => {
    const r = resolveDefinition(
      electionDefinitionSchema.parse({
        districts: [{ id: 'all', name: 'Everywhere' }],
        contests: [
          {
            id: 'constructor',
            name: 'Constructor',
            type: 'candidate',
            district: 'all',
            candidates: [
              { id: 'toString', name: 'To string' },
              { id: 'hasOwnProperty', name: 'Has own property' },
            ],
          },
          { id: 'valueOf', name: 'Value of', type: 'measure', district: 'all' },
        ],
      }),
      [{ id: 'r1', state: 'AA' }],
    )
    if (!r.ok) throw new Error(JSON.stringify(r.issues))
    const special = recountDefinitionOf(r.resolved)
    const ballots: BoxBallot[] = [
      { regionId: 'r1', channel: 'mail', marks: {} },
      { regionId: 'r1', channel: 'mail', marks: { constructor: ['toString'] } },
      { regionId: 'r1', channel: 'mail', marks: { valueOf: ['no'], constructor: ['hasOwnProperty', 'toString'] } },
    ]
    const recounted = recountGrid(r.resolved, special, ballots)
    expect(cellsOf(recounted)).toEqual({
      'constructor|:ballots|r1|mail': 3,
      'constructor|:undervotes|r1|mail': 1,
      'constructor|:overvotes|r1|mail': 1,
      'constructor|toString|r1|mail': 1,
      'valueOf|:ballots|r1|mail': 3,
      'valueOf|:undervotes|r1|mail': 2,
      'valueOf|no|r1|mail': 1,
    })
    expect(compareGrids(recounted, runningGrid(r.resolved, special, countVectors(r.resolved, ballots)))).toEqual({
      differences: [],
      cells: 2,
      unbalanced: 0,
      contestBallots: 6,
    })
  })
})

// ---------------------------------------------------------------------------------------
// Random valid ballots of random elections (generators after tabulation.property.test.ts,
// without its faults: every ballot here is one the counter counts).

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
  { weight: 2, arbitrary: fc.record({ district: fc.nat({ max: 3 }) }) },
)

const electionArb = fc.record({
  regions: fc.array(fc.constantFrom(...STATES), { minLength: 1, maxLength: 5 }),
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
    return { ...common, type: 'measure' as const }
  })
  return { input: { districts, contests }, regions }
}

const markChoiceArb = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 9 }).map((n) => ({ kind: 'declared' as const, n })) },
  { weight: 1, arbitrary: fc.constantFrom('Jane Q. Public', 'John Roe', 'Zoë').map((name) => ({ kind: 'write-in' as const, name })) },
)

const ballotArb = fc.record({
  region: fc.nat(),
  channel: fc.constantFrom(...CHANNELS),
  partition: fc.nat({ max: 3 }),
  /** Per entry: which contest of the style (modulo its length) and the marks made in it. */
  entries: fc.array(fc.record({ n: fc.nat(), marks: fc.array(markChoiceArb, { maxLength: 6 }) }), { maxLength: 7 }),
})

type BallotSpec = typeof ballotArb extends fc.Arbitrary<infer T> ? T : never

/** Marks that belong: distinct declared selections, write-ins only where there is a line; as many as drawn (overvotes too). */
function buildBallot(spec: BallotSpec, resolved: ResolvedDefinition, regions: RegionPlace[]): BoxBallot {
  const regionId = regions[spec.region % regions.length]?.id as string
  const style = resolved.styles.get(resolved.styleOfRegion.get(regionId) as string) as string[]
  const marks: Record<string, Mark[]> = {}
  for (const e of spec.entries) {
    const contestId = style[e.n % style.length] as string
    const contest = resolved.contests.find((c) => c.id === contestId)
    const pool = contest?.selections.map((s) => s.id) ?? []
    const made: Mark[] = []
    for (const m of e.marks) {
      if (m.kind === 'declared') {
        if (pool.length === 0) continue
        const [s] = pool.splice(m.n % pool.length, 1)
        if (s !== undefined) made.push(s)
      } else if (contest?.writeIns) made.push({ writeIn: m.name })
    }
    marks[contestId] = made
  }
  return { regionId, channel: spec.channel, partition: spec.partition, marks }
}

describe('recount of random valid ballots in random elections', () => {
  it('agrees with the counter everywhere: no difference, nothing unbalanced, each ballot once per contest of its style', () => {
    const seen = { elections: 0, ballots: 0, overvotes: 0, undervotes: 0, writeIns: 0 }
    fc.assert(
      fc.property(electionArb, fc.array(ballotArb, { minLength: 1, maxLength: 30 }), fc.boolean(), (spec, specs, reverse) => {
        const { input, regions } = buildElection(spec)
        const r = resolveDefinition(electionDefinitionSchema.parse(input), regions)
        // Only a region no contest reaches makes these definitions unresolvable.
        if (!r.ok) {
          expect(r.issues.every((i) => i.path[0] === 'regions')).toBe(true)
          return
        }
        seen.elections++
        const resolved = r.resolved
        const definition = recountDefinitionOf(resolved, reverse)
        const ballots = specs.map((b) => buildBallot(b, resolved, regions))
        const running = runningGrid(resolved, definition, countVectors(resolved, ballots))
        const recounted = recountGrid(resolved, definition, ballots)

        const styleLength = (b: BoxBallot) => resolved.styles.get(resolved.styleOfRegion.get(b.regionId) as string)?.length as number
        const contestCells = new Set(
          ballots.flatMap((b) =>
            (resolved.styles.get(resolved.styleOfRegion.get(b.regionId) as string) ?? []).map((c) => `${c}|${b.regionId}|${b.channel}`),
          ),
        )
        const expected = {
          differences: [],
          cells: contestCells.size,
          unbalanced: 0,
          contestBallots: ballots.reduce((s, b) => s + styleLength(b), 0),
        }
        expect(compareGrids(recounted, running)).toEqual(expected)
        expect(compareGrids(null, recounted)).toEqual(expected)
        expect(recounted.others.size).toBe(0)

        const cells = cellsOf(recounted)
        for (const [k, n] of Object.entries(cells)) {
          const line = k.split('|')[1]
          if (line === OVERVOTES) seen.overvotes += n
          else if (line === UNDERVOTES) seen.undervotes += n
          else if (line === WRITE_IN_SELECTION) seen.writeIns += n
        }
        seen.ballots += ballots.length

        // Detection in the same setting: the first ballot recounted twice differs on the
        // ballots line of every contest of its style, in its region and channel, by one.
        const first = ballots[0] as BoxBallot
        recountBallot(recounted, definition, {
          styleId: resolved.styleOfRegion.get(first.regionId) as string,
          regionId: first.regionId,
          channel: first.channel,
          marks: JSON.stringify(first.marks),
        })
        const differences = compareGrids(recounted, running).differences
        const onBallots = differences.filter((d) => d.line === BALLOTS_KEY)
        expect(onBallots.map((d) => d.contestId).sort()).toEqual(
          [...(resolved.styles.get(resolved.styleOfRegion.get(first.regionId) as string) ?? [])].sort(),
        )
        for (const d of differences) {
          expect([d.regionId, d.channel]).toEqual([first.regionId, first.channel])
          expect(d.recounted).toBeGreaterThan(d.running)
        }
      }),
      { numRuns: 300 },
    )
    // The generators reach what they are for.
    expect(seen.elections).toBeGreaterThan(150)
    expect(seen.ballots).toBeGreaterThan(1000)
    expect(seen.overvotes).toBeGreaterThan(100)
    expect(seen.undervotes).toBeGreaterThan(100)
    expect(seen.writeIns).toBeGreaterThan(100)
  })
})
