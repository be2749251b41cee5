import { BALLOTS_KEY, WRITE_IN_SELECTION } from './contests.ts'
import { SLOT } from './count-vector.ts'

/**
 * The recount of an election with contests, from the ballot box, written apart from the
 * counter on purpose (as a second tabulator would be): it takes the definition as stored
 * (each style's contests, each contest's votes allowed) and the marks as stored, and
 * applies the rules in the plainest way — more marks than allowed is an overvote, fewer
 * are undervotes, a name written in counts on the write-in line. It shares neither the
 * counter's tabulation nor its vectors' layout, so a fault in either shows as a difference.
 *
 * Both sides are kept in a `Grid`: per region × channel, one number per contest × line
 * (a million ballots of 23 contests are 100 million additions: string keys per cell made
 * that minutes, integer offsets make it seconds).
 */

export const UNDERVOTES = ':undervotes'
export const OVERVOTES = ':overvotes'

export interface RecountDefinition {
  /** Style id → its contests (as stored in ballot_styles). */
  styles: Map<string, string[]>
  /**
   * Contest id → votes allowed, whether it has a write-in line, whether it is ranked (its
   * marks are ranks; its first choice is what the counts hold), its declared selections in
   * position order.
   */
  contests: Map<string, { votesAllowed: number; writeIns: boolean; ranked?: boolean; selections: string[] }>
}

/** Every contest × line of a definition at an offset: ballots, undervotes, overvotes, write-in line, selections. */
class CellSpace {
  readonly width: number
  readonly contests: Array<{
    id: string
    at: number
    votesAllowed: number
    ranked: boolean
    lines: string[]
    lineAt: Map<string, number>
  }> = []
  readonly byId = new Map<string, CellSpace['contests'][number]>()

  constructor(definition: RecountDefinition) {
    let at = 0
    for (const [id, c] of definition.contests) {
      const lines = [BALLOTS_KEY, UNDERVOTES, OVERVOTES, WRITE_IN_SELECTION, ...c.selections]
      const entry = { id, at, votesAllowed: c.votesAllowed, ranked: c.ranked ?? false, lines, lineAt: new Map(lines.map((l, i) => [l, i])) }
      this.contests.push(entry)
      this.byId.set(id, entry)
      at += lines.length
    }
    this.width = at
  }
}

/** Counts per region × channel × contest × line; lines the definition does not know are kept apart, by name. */
export class Grid {
  readonly rows = new Map<string, { regionId: string; channel: string; n: Int32Array }>()
  /** Cells outside the definition (a mark naming no declared selection, a contest no longer defined). */
  readonly others = new Map<string, number>()

  private readonly styleSets = new Map<string, Set<string>>()

  constructor(readonly space: CellSpace) {}

  /** A style's contests as a set (built once per style). */
  onStyle(styleId: string, contests: string[]): Set<string> {
    let set = this.styleSets.get(styleId)
    if (!set) {
      set = new Set(contests)
      this.styleSets.set(styleId, set)
    }
    return set
  }

  row(regionId: string, channel: string): Int32Array {
    const k = `${regionId}\u0000${channel}`
    let r = this.rows.get(k)
    if (!r) {
      r = { regionId, channel, n: new Int32Array(this.space.width) }
      this.rows.set(k, r)
    }
    return r.n
  }

  /** Adds to a cell named in full (the slow path: legacy rows, unknown lines). */
  addNamed(contestId: string, line: string, regionId: string, channel: string, n: number): void {
    const c = this.space.byId.get(contestId)
    const i = c?.lineAt.get(line)
    if (c && i !== undefined) bump(this.row(regionId, channel), c.at + i, n)
    else this.addOther(contestId, line, regionId, channel, n)
  }

  /** Adds to a cell kept apart from the definition's lines, whatever its name. */
  addOther(contestId: string, line: string, regionId: string, channel: string, n: number): void {
    const k = [contestId, line, regionId, channel].join('\u0000')
    this.others.set(k, (this.others.get(k) ?? 0) + n)
  }
}

export function newGrid(definition: RecountDefinition): Grid {
  return new Grid(new CellSpace(definition))
}

/** One ballot of the box: its style, region, channel and marks (the stored JSON, parsed here). */
export interface BoxRow {
  styleId: string
  regionId: string
  channel: string
  marks: string
}

/** Adds one ballot of the box to the recount. Whatever in it does not fit the rules is kept apart by name, never dropped. */
export function recountBallot(grid: Grid, definition: RecountDefinition, row: BoxRow): void {
  const parsed: unknown = JSON.parse(row.marks)
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
  const marks = (isObject ? parsed : {}) as Record<string, unknown>
  if (!isObject) grid.addOther('(ballot)', '(marks not an object)', row.regionId, row.channel, 1)
  const counts = grid.row(row.regionId, row.channel)
  const onStyle = definition.styles.get(row.styleId)
  if (!onStyle) {
    grid.addOther(`(style ${row.styleId})`, BALLOTS_KEY, row.regionId, row.channel, 1)
    return
  }
  for (const contestId in marks)
    if (Object.hasOwn(marks, contestId) && !grid.onStyle(row.styleId, onStyle).has(contestId))
      grid.addOther(contestId, '(marked, not on the style)', row.regionId, row.channel, 1)
  for (const contestId of onStyle) {
    const c = grid.space.byId.get(contestId)
    if (!c) {
      grid.addOther(contestId, BALLOTS_KEY, row.regionId, row.channel, 1)
      continue
    }
    const given = Object.hasOwn(marks, contestId) ? marks[contestId] : []
    if (!Array.isArray(given)) grid.addOther(contestId, '(marks not a list)', row.regionId, row.channel, 1)
    const ranks = Array.isArray(given) ? (given as unknown[]) : []
    // A ranked contest counts its first marked rank, read the plain way: the rank's marks
    // (a lone id is one mark), the first rank with any; none is an undervote.
    const made = c.ranked ? firstMarkedRank(ranks) : ranks
    bump(counts, c.at, 1)
    if (made.length > c.votesAllowed) {
      bump(counts, c.at + 2, 1)
      continue
    }
    bump(counts, c.at + 1, c.votesAllowed - made.length)
    for (const m of made) {
      const writtenIn = typeof m === 'object' && m !== null && typeof (m as { writeIn?: unknown }).writeIn === 'string'
      if (typeof m !== 'string' && !writtenIn) {
        grid.addOther(contestId, '(malformed mark)', row.regionId, row.channel, 1)
        continue
      }
      const line = typeof m === 'string' ? m : WRITE_IN_SELECTION
      const i = c.lineAt.get(line)
      // A line's position is found by name, and the write-in line must not be named by a string mark.
      if (i !== undefined && i >= 3 && !(i === 3 && typeof m === 'string')) bump(counts, c.at + i, 1)
      // A mark naming no declared selection (or naming a reserved line, such as `write-in`,
      // as a string) is kept apart under its name: it never lands on a defined line.
      else grid.addOther(contestId, line, row.regionId, row.channel, 1)
    }
  }
}

function firstMarkedRank(ranks: unknown[]): unknown[] {
  for (const rank of ranks) {
    const marks = Array.isArray(rank) ? rank : [rank]
    if (marks.length > 0) return marks
  }
  return []
}

/** One stored count vector (style_counts). */
export interface VectorRowStored {
  regionId: string
  channel: string
  styleId: string
  counts: number[]
}

/**
 * Adds stored vectors to the running side, read through the stored layout (`at` per style ×
 * contest) and the selections' stored positions, as the SQL views `contest_counts` and
 * `contest_ballots` read them.
 */
export function addRunningVectors(
  grid: Grid,
  rows: Iterable<VectorRowStored>,
  layout: Map<string, Array<{ contestId: string; at: number }>>,
): void {
  for (const row of rows) {
    const counts = grid.row(row.regionId, row.channel)
    for (const { contestId, at } of layout.get(row.styleId) ?? []) {
      const c = grid.space.byId.get(contestId)
      if (!c) continue
      const from = at - 1
      bump(counts, c.at, row.counts[from + SLOT.ballots] ?? 0)
      bump(counts, c.at + 1, row.counts[from + SLOT.undervotes] ?? 0)
      bump(counts, c.at + 2, row.counts[from + SLOT.overvotes] ?? 0)
      bump(counts, c.at + 3, row.counts[from + SLOT.writeIn] ?? 0)
      for (let s = 4; s < c.lines.length; s++) bump(counts, c.at + s, row.counts[from + SLOT.firstSelection + s - 4] ?? 0)
    }
  }
}

/** Adds one stored vector to its style's sum (the cells side of styleTotalDifferences). */
export function addToStyleSum(sums: Map<string, number[]>, row: Pick<VectorRowStored, 'styleId' | 'counts'>): void {
  const sum = sums.get(row.styleId)
  if (!sum) {
    sums.set(row.styleId, [...row.counts])
    return
  }
  for (let i = 0; i < Math.max(sum.length, row.counts.length); i++) sum[i] = (sum[i] ?? 0) + (row.counts[i] ?? 0)
}

/** A ballot style whose stored total (what snapshots read) is not the sum of its cells' vectors. */
export interface StyleTotalDifference {
  styleId: string
  /** The first element (0-based) where they differ. */
  at: number
  cells: number
  stored: number
}

/**
 * Compares each style's stored total (style_totals, summed over partitions) with the sum of
 * its cells' vectors (style_counts): both are written by the same counting transaction, so
 * any difference is a fault — of the database, or of a hand that edited one of them.
 */
export function styleTotalDifferences(
  cellSums: Map<string, number[]>,
  stored: Iterable<Pick<VectorRowStored, 'styleId' | 'counts'>>,
): StyleTotalDifference[] {
  const storedSums = new Map<string, number[]>()
  for (const row of stored) addToStyleSum(storedSums, row)
  const out: StyleTotalDifference[] = []
  for (const styleId of [...new Set([...cellSums.keys(), ...storedSums.keys()])].sort()) {
    const a = cellSums.get(styleId) ?? []
    const b = storedSums.get(styleId) ?? []
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] ?? 0) !== (b[i] ?? 0)) {
        out.push({ styleId, at: i, cells: a[i] ?? 0, stored: b[i] ?? 0 })
        break
      }
    }
  }
  return out
}

export interface ContestDifference {
  contestId: string
  line: string
  regionId: string
  channel: string
  recounted: number
  running: number
}

export interface ContestComparison {
  /** Where the recount and the running counts disagree (the first `limit`, in key order). */
  differences: ContestDifference[]
  /** Contest × region × channel cells of the running counts that carried a ballot. */
  cells: number
  /** Cells where Σ selections + undervotes + overvotes × votesAllowed ≠ ballots × votesAllowed. */
  unbalanced: number
  /** Σ ballots over the running cells (a ballot counts once per contest on it). */
  contestBallots: number
}

/** Compares a recount with the running counts (recount null: the invariant only). */
export function compareGrids(recounted: Grid | null, running: Grid, limit = 1000): ContestComparison {
  const differences: ContestDifference[] = []
  const space = running.space
  if (recounted) {
    const keys = new Set([...recounted.rows.keys(), ...running.rows.keys()])
    const zero = new Int32Array(space.width)
    for (const k of keys) {
      const r = recounted.rows.get(k)
      const c = running.rows.get(k)
      const { regionId, channel } = (r ?? c) as { regionId: string; channel: string }
      const rn = r?.n ?? zero
      const cn = c?.n ?? zero
      for (const contest of space.contests)
        for (let i = 0; i < contest.lines.length; i++) {
          const a = rn[contest.at + i] as number
          const b = cn[contest.at + i] as number
          if (a !== b)
            differences.push({ contestId: contest.id, line: contest.lines[i] as string, regionId, channel, recounted: a, running: b })
        }
    }
    for (const k of new Set([...recounted.others.keys(), ...running.others.keys()])) {
      const a = recounted.others.get(k) ?? 0
      const b = running.others.get(k) ?? 0
      const [contestId = '', line = '', regionId = '', channel = ''] = k.split('\u0000')
      if (a !== b) differences.push({ contestId, line, regionId, channel, recounted: a, running: b })
    }
    const order = (d: ContestDifference) => [d.contestId, d.line, d.regionId, d.channel]
    differences.sort((x, y) => {
      const a = order(x)
      const b = order(y)
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as string) < (b[i] as string) ? -1 : 1
      return 0
    })
    differences.length = Math.min(differences.length, limit)
  }
  let cells = 0
  let unbalanced = 0
  let contestBallots = 0
  for (const { n } of running.rows.values())
    for (const c of space.contests) {
      const ballots = n[c.at] as number
      let votes = 0
      for (let i = 3; i < c.lines.length; i++) votes += n[c.at + i] as number
      const under = n[c.at + 1] as number
      const over = n[c.at + 2] as number
      if (ballots === 0 && votes === 0 && under === 0 && over === 0) continue
      cells++
      contestBallots += ballots
      if (votes + under + over * c.votesAllowed !== ballots * c.votesAllowed) unbalanced++
    }
  return { differences, cells, unbalanced, contestBallots }
}

function bump(a: Int32Array, i: number, n: number): void {
  a[i] = (a[i] as number) + n
}
