import { type ContestRules, type ResolvedDefinition, WRITE_IN_SELECTION } from './contests.ts'
import type { ContestOutcome } from './tabulation.ts'

/**
 * The counts of one region × channel (× partition) as one vector: the blocks of the
 * contests on the region's style, in ballot order. A ballot adds to one vector, so a batch
 * writes one row per region it carries instead of one per contest × selection (migration
 * 0017 stores the layout in `style_contests` and gives the cells back as views).
 *
 * A block is [ballots, undervotes, overvotes, write-in line, selection 0, selection 1, …],
 * selections in the definition's order; the write-in slot stays 0 where there is no line.
 */
export const SLOT = { ballots: 0, undervotes: 1, overvotes: 2, writeIn: 3, firstSelection: 4 } as const

export const blockSize = (c: Pick<ContestRules, 'selections'>) => SLOT.firstSelection + c.selections.length

/**
 * The stored definition and its count layout do not fit: the database's state is at fault,
 * not a ballot. The counter stops on the batch and retries it until an operator fixes the
 * cause; no ballot is rejected for it (lib/counting/account-batch.ts).
 */
export class CountLayoutError extends Error {
  override name = 'CountLayoutError'
}

/** Style id → contest id → where the contest's block starts (1-based, as SQL arrays count). */
export type StyleLayouts = Map<string, Map<string, number>>

/** The layout of every style of a definition: what is stored with it, and all the counter uses. */
export function countLayout(resolved: ResolvedDefinition): StyleLayouts {
  const byId = new Map(resolved.contests.map((c) => [c.id, c]))
  const out: StyleLayouts = new Map()
  for (const [styleId, contests] of resolved.styles) {
    const at = new Map<string, number>()
    let next = 1
    for (const id of contests) {
      const contest = byId.get(id)
      if (!contest) throw new CountLayoutError(`style ${styleId} names contest ${id}, which the definition lacks`)
      at.set(id, next)
      next += blockSize(contest)
    }
    out.set(styleId, at)
  }
  return out
}

/** What the counter needs to add a ballot to its vector: per style its length and blocks, per contest its slots. */
export interface VectorIndex {
  styles: Map<string, { length: number; at: Map<string, number> }>
  /** Contest id → selection id (or the write-in line) → offset within its block. */
  slots: Map<string, Map<string, number>>
}

/**
 * Indexes a stored layout. The layout is read back from the database, not recomputed: the
 * views read the counts through `style_contests`, so the counter must write through it too.
 * A layout that does not fit the definition (a block missing, overlapping or out of order)
 * is refused here rather than counted into the wrong cells.
 */
export function vectorIndex(resolved: ResolvedDefinition, layouts: StyleLayouts): VectorIndex {
  const byId = new Map(resolved.contests.map((c) => [c.id, c]))
  const styles: VectorIndex['styles'] = new Map()
  for (const [styleId, contests] of resolved.styles) {
    const at = layouts.get(styleId)
    if (!at) throw new CountLayoutError(`no stored count layout for style ${styleId}`)
    let next = 1
    for (const id of contests) {
      const start = at.get(id)
      const contest = byId.get(id)
      if (start !== next || !contest) throw new CountLayoutError(`the stored layout of style ${styleId} does not fit contest ${id}`)
      next += blockSize(contest)
    }
    if (at.size !== contests.length) throw new CountLayoutError(`the stored layout of style ${styleId} has contests its style lacks`)
    styles.set(styleId, { length: next - 1, at })
  }
  const slots: VectorIndex['slots'] = new Map(
    resolved.contests.map((c) => [
      c.id,
      new Map<string, number>([
        ...c.selections.map((s, i) => [s.id, SLOT.firstSelection + i] as const),
        [WRITE_IN_SELECTION, SLOT.writeIn] as const,
      ]),
    ]),
  )
  return { styles, slots }
}

/** Adds one judged ballot to its style's vector (length from the index; 0-based here, 1-based in SQL). */
export function addToVector(vector: number[], index: VectorIndex, styleId: string, outcomes: ContestOutcome[]): void {
  const style = index.styles.get(styleId)
  if (!style) throw new CountLayoutError(`no count layout for style ${styleId}`)
  for (const o of outcomes) {
    const start = style.at.get(o.contestId)
    if (start === undefined) throw new CountLayoutError(`contest ${o.contestId} has no block on style ${styleId}`)
    const at = start - 1
    vector[at + SLOT.ballots] = (vector[at + SLOT.ballots] ?? 0) + 1
    vector[at + SLOT.undervotes] = (vector[at + SLOT.undervotes] ?? 0) + o.undervotes
    vector[at + SLOT.overvotes] = (vector[at + SLOT.overvotes] ?? 0) + o.overvoted
    const slots = index.slots.get(o.contestId) as Map<string, number>
    for (const s of o.selections) {
      const slot = slots.get(s)
      if (slot === undefined) throw new CountLayoutError(`selection ${s} of contest ${o.contestId} has no slot`)
      const k = at + slot
      vector[k] = (vector[k] ?? 0) + 1
    }
  }
}

/** One row of the count: a region × channel × partition's vector, summed over a batch's ballots. */
export interface VectorRow {
  electionId: string
  regionId: string
  channel: string
  partition: number
  styleId: string
  counts: number[]
}

/**
 * Sums a batch's judged ballots into one vector per election × region × channel ×
 * partition, in key order (overlapping writers then lock rows in the same order).
 */
export function sumVectors(
  ballots: Iterable<{
    electionId: string
    regionId: string
    channel: string
    partition: number
    styleId: string
    contests: ContestOutcome[]
  }>,
  indexOf: (electionId: string) => VectorIndex,
): VectorRow[] {
  const rows = new Map<string, VectorRow>()
  for (const b of ballots) {
    const key = `${b.electionId}|${b.regionId}|${b.channel}|${b.partition}`
    let row = rows.get(key)
    const index = indexOf(b.electionId)
    if (!row) {
      const length = index.styles.get(b.styleId)?.length ?? 0
      row = { ...pick(b), counts: new Array<number>(length).fill(0) }
      rows.set(key, row)
    }
    addToVector(row.counts, index, b.styleId, b.contests)
  }
  return [...rows.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, v]) => v)
}

const pick = (b: VectorRow | Omit<VectorRow, 'counts'>) => ({
  electionId: b.electionId,
  regionId: b.regionId,
  channel: b.channel,
  partition: b.partition,
  styleId: b.styleId,
})

/** A style's vectors of one partition summed over its regions and channels (the `style_totals` row). */
export interface StyleTotalRow {
  electionId: string
  styleId: string
  partition: number
  counts: number[]
}

/**
 * A batch's vectors summed per election × style × partition, sorted by that key (the order
 * every writer locks rows in). Element-wise: all vectors of a style share its layout.
 */
export function styleTotals(vectors: Iterable<VectorRow>): StyleTotalRow[] {
  const rows = new Map<string, StyleTotalRow>()
  for (const v of vectors) {
    const key = `${v.electionId}|${v.styleId}|${v.partition}`
    const row = rows.get(key)
    if (!row) {
      rows.set(key, { electionId: v.electionId, styleId: v.styleId, partition: v.partition, counts: [...v.counts] })
      continue
    }
    if (row.counts.length !== v.counts.length) {
      throw new CountLayoutError(`style ${v.styleId}: vectors of ${row.counts.length} and ${v.counts.length} elements`)
    }
    for (let i = 0; i < v.counts.length; i++) row.counts[i] = (row.counts[i] as number) + (v.counts[i] as number)
  }
  return [...rows.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, r]) => r)
}
