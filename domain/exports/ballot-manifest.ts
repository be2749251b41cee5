import { CHANNELS, type Channel, type Mark, type Marks } from '../ballot.ts'
import { resultLines } from '../contest-results.ts'
import { type ContestRules, type ResolvedDefinition, WRITE_IN_SELECTION } from '../contests.ts'
import { indexDefinition, type TabulationIndex, tabulateBallot } from '../tabulation.ts'
import { Sha256 } from './commitment.ts'

/**
 * The ballot manifest and the per-contest batch tallies of a closed election (issue #28
 * item 2): the files an auditor uploads into Arlo or ColoradoRLA, and the order of the
 * ballots that the cast vote records (cvr.ts) share with them.
 *
 * **Export order.** The ballot box holds no arrival order (lib/db/ballot-box.ts), and the
 * exports must not invent one. Every export lists the ballots in one order that depends
 * only on what the box holds:
 * - when each ballot carries the box's random id (`id`, drawn when the box was mixed), by
 *   that id — a database reads them so with `order by id` (a uuid sorts as its lower-case
 *   text does), and the id is the cast vote record's UniqueId;
 * - otherwise by a hash of the ballot's content keyed with the election id (ties are
 *   identical ballots, interchangeable), and the UniqueId is the position in that order.
 * Either way a shuffled input gives the same files, byte for byte.
 *
 * **Batches.** A batch is region × channel × container: the ballots of one region and
 * channel, in export order, cut into containers of at most `containerSize` (default 500).
 * Its name, `<region>/<channel>/<n>`, is unique on its own (ids hold no '/'): the manifest,
 * the tallies and each cast vote record's BatchId use it, and a ballot is found again as
 * "batch B, ballot k" (the record's BatchSequenceId). The manifest is computed from the
 * ballot counts per region × channel alone; the tallies and the records from the ballots
 * in export order, so all three agree.
 *
 * **Arlo's CSV layouts** (from Arlo's documentation and its tests, votingworks/arlo and
 * votingworks/docs-arlo): a ballot manifest is `Container,Tabulator,Batch Name,Number of
 * Ballots` (Container and Tabulator optional; here Container = the region, Tabulator = the
 * channel, Batch Name = the unique batch name); batch tallies are `Batch Name,<choice>,…`
 * with one column per choice named as the contest names it, the write-in line as
 * `Write-In`. Arlo wants the choices only; `overUnder: true` adds Overvotes and Undervotes
 * columns for other readers. Lines end in CRLF (RFC 4180, as Arlo writes its own CSVs).
 */

export const DEFAULT_CONTAINER_SIZE = 500

/** A ballot from the ballot box as the exports read it: no voter, no position, no time. */
export interface ExportBallot {
  /** The ballot box's random id (drawn at mixing), when the reader has it. */
  id?: string
  regionId: string
  channel: Channel
  styleId: string
  marks: Marks
  /** Its paper's imprint (domain/ballot.ts), when it has a paper: the cast vote record's BallotAuditId. */
  imprint?: string | null
}

/** Where a ballot lands in the exports. */
export interface Placement {
  /** The cast vote record's UniqueId: the box id, or the 1-based position in export order. */
  uniqueId: string
  batch: BatchRef
  /** 1-based position of the ballot in its batch (BatchSequenceId). */
  sequence: number
}

export interface BatchRef {
  name: string
  regionId: string
  channel: Channel
  /** 1-based container number within the region × channel. */
  container: number
}

export const batchName = (regionId: string, channel: string, container: number) => `${regionId}/${channel}/${container}`

/**
 * A ballot's marks in one canonical form: contests by id, blank ones left out (a contest
 * absent and one with no marks are the same blank), declared selections by id and names
 * written in by name. Two ballots with equal forms are the same ballot for every export.
 */
export function canonicalMarks(marks: Marks): Array<[string, Mark[]]> {
  const out: Array<[string, Mark[]]> = []
  for (const contestId of Object.keys(marks).sort(compare)) {
    const made = marks[contestId] ?? []
    if (made.length === 0) continue
    // A ranking (ranks as lists, as the counter boxes a ranked contest's marks) is already
    // canonical, and its order is its meaning: kept as it is.
    if (made.some((m) => Array.isArray(m))) {
      out.push([contestId, made])
      continue
    }
    const ids = made.filter((m): m is string => typeof m === 'string').sort(compare)
    const names = made
      .filter((m): m is { writeIn: string } => typeof m !== 'string')
      .map((m) => m.writeIn)
      .sort(compare)
    out.push([contestId, [...ids, ...names.map((writeIn) => ({ writeIn }))]])
  }
  return out
}

// The imprint, when there is one, makes two ballots with the same marks two records (their order fixed too).
const canonicalText = (b: ExportBallot) =>
  JSON.stringify([b.regionId, b.channel, b.styleId, canonicalMarks(b.marks), ...(b.imprint ? [b.imprint] : [])])

/** The sort key of a ballot in export order (see the module's comment). */
export function exportKey(ballot: ExportBallot, electionId: string): string {
  if (ballot.id !== undefined) return ballot.id
  const text = canonicalText(ballot)
  // The hash first (the order looks like no other), the content after it (equal keys are equal ballots).
  return `${new Sha256().update(electionId).update('\n').update(text).hex()}${text}`
}

/** The ballots in export order: what the whole-file forms do, and what a streaming caller does when its source is not ordered. */
export function sortForExport<T extends ExportBallot>(ballots: Iterable<T>, electionId: string): T[] {
  const keyed = [...ballots].map((b) => ({ b, k: exportKey(b, electionId) }))
  keyed.sort((x, y) => compare(x.k, y.k))
  return keyed.map((x) => x.b)
}

/**
 * Places ballots given in export order, one at a time (memory: one counter per region ×
 * channel): the UniqueId, the batch and the position in it. Refuses ballots out of order,
 * a repeated box id, and a mix of ballots with and without box ids — any of which would
 * make the files depend on how the ballots were read.
 */
export class ExportSequence {
  private readonly seen = new Map<string, number>()
  private last: string | undefined
  private position = 0
  private withIds: boolean | undefined

  constructor(
    private readonly electionId: string,
    readonly containerSize = DEFAULT_CONTAINER_SIZE,
  ) {
    if (!Number.isSafeInteger(containerSize) || containerSize < 1)
      throw new Error(`container size must be a positive integer (${containerSize})`)
  }

  place(ballot: ExportBallot): Placement {
    const hasId = ballot.id !== undefined
    if (this.withIds === undefined) this.withIds = hasId
    else if (this.withIds !== hasId) throw new Error('some ballots carry a box id and some do not: give every ballot its id, or none')
    if (!(CHANNELS as readonly string[]).includes(ballot.channel)) throw new Error(`unknown channel ${ballot.channel}`)
    const key = exportKey(ballot, this.electionId)
    if (this.last !== undefined && (hasId ? compare(key, this.last) <= 0 : compare(key, this.last) < 0))
      throw new Error(
        hasId
          ? `ballot ${ballot.id} out of export order (or repeated): read the box ordered by id`
          : 'ballots out of export order: sort them with sortForExport',
      )
    this.last = key
    this.position++
    const cell = `${ballot.regionId}\u0000${ballot.channel}`
    const k = this.seen.get(cell) ?? 0
    this.seen.set(cell, k + 1)
    const container = Math.floor(k / this.containerSize) + 1
    return {
      uniqueId: hasId ? (ballot.id as string) : String(this.position),
      batch: { name: batchName(ballot.regionId, ballot.channel, container), regionId: ballot.regionId, channel: ballot.channel, container },
      sequence: (k % this.containerSize) + 1,
    }
  }
}

export interface ManifestBatch extends BatchRef {
  ballots: number
}

export interface BallotManifest {
  electionId: string
  containerSize: number
  /** Σ batches' ballots. */
  ballots: number
  /** By region id, channel (election day, early, mail), container. */
  batches: ManifestBatch[]
}

/** Ballots per region × channel, from the ballots (a database counts them with a `group by`). */
export function ballotCounts(
  ballots: Iterable<Pick<ExportBallot, 'regionId' | 'channel'>>,
): Array<{ regionId: string; channel: Channel; ballots: number }> {
  const counts = new Map<string, { regionId: string; channel: Channel; ballots: number }>()
  for (const b of ballots) {
    const key = `${b.regionId}\u0000${b.channel}`
    const c = counts.get(key)
    if (c) c.ballots++
    else counts.set(key, { regionId: b.regionId, channel: b.channel, ballots: 1 })
  }
  return [...counts.values()]
}

/** The manifest from the ballot counts per region × channel (rows for the same cell add up). */
export function ballotManifest(input: {
  electionId: string
  counts: Iterable<{ regionId: string; channel: Channel; ballots: number }>
  containerSize?: number
}): BallotManifest {
  const size = input.containerSize ?? DEFAULT_CONTAINER_SIZE
  new ExportSequence(input.electionId, size) // checks the size
  const cells = new Map<string, { regionId: string; channel: Channel; ballots: number }>()
  for (const c of input.counts) {
    if (!Number.isSafeInteger(c.ballots) || c.ballots < 0) throw new Error(`ballot count must be a non-negative integer (${c.ballots})`)
    const key = `${c.regionId}\u0000${c.channel}`
    const cell = cells.get(key)
    if (cell) cell.ballots += c.ballots
    else cells.set(key, { ...c })
  }
  const batches: ManifestBatch[] = []
  for (const c of [...cells.values()].sort(byCell))
    for (let container = 1, left = c.ballots; left > 0; container++, left -= size)
      batches.push({
        name: batchName(c.regionId, c.channel, container),
        regionId: c.regionId,
        channel: c.channel,
        container,
        ballots: Math.min(size, left),
      })
  return { electionId: input.electionId, containerSize: size, ballots: batches.reduce((s, b) => s + b.ballots, 0), batches }
}

/** The manifest in Arlo's layout: Container (the region), Tabulator (the channel), Batch Name, Number of Ballots. */
export function ballotManifestCsv(manifest: BallotManifest): string {
  return csv([
    ['Container', 'Tabulator', 'Batch Name', 'Number of Ballots'],
    ...manifest.batches.map((b) => [b.regionId, b.channel, b.name, String(b.ballots)]),
  ])
}

/** One batch's counts in one contest. */
export interface BatchTally {
  batch: string
  regionId: string
  channel: Channel
  container: number
  /** Ballots of the batch that carried the contest (all of them: a batch is one region, one style). */
  ballots: number
  /** Selection id (the write-in line included) → votes counted. */
  votes: Record<string, number>
  /** Ballots overvoted in the contest (as the counter counts them: nothing of theirs counts). */
  overvotes: number
  /** Votes not cast: votesAllowed − marks on each ballot that was not overvoted. */
  undervotes: number
}

export interface ContestBatchTallies {
  contestId: string
  name: string
  type: 'candidate' | 'measure'
  votesAllowed: number
  /** The lines votes are counted on, in ballot order: declared selections, then the write-in line. */
  choices: Array<{ id: string; name: string; writeIn: boolean }>
  /** Batches where the contest was on the ballot, in manifest order. */
  batches: BatchTally[]
  /** Σ batches. Per batch and in total: Σ votes + undervotes + overvotes × votesAllowed = ballots × votesAllowed. */
  totals: { ballots: number; votes: Record<string, number>; overvotes: number; undervotes: number }
}

/**
 * The per-contest batch tallies: each ballot judged by the counter's own rules
 * (tabulation.ts) and added to its batch. `ordered: true` reads the ballots as they come —
 * they must be in export order, as when the box is read ordered by id — holding only the
 * tallies; otherwise they are sorted first.
 */
export function batchTallies(input: {
  electionId: string
  definition: ResolvedDefinition
  ballots: Iterable<ExportBallot>
  containerSize?: number
  ordered?: boolean
}): ContestBatchTallies[] {
  const tallier = batchTallier(input)
  for (const ballot of input.ordered ? input.ballots : sortForExport(input.ballots, input.electionId)) tallier.add(ballot)
  return tallier.result()
}

/**
 * The batch tallies ballot by ballot, for a source read a piece at a time (the box through
 * a cursor): `add` each ballot in export order, then `result()` once.
 */
export function batchTallier(input: { electionId: string; definition: ResolvedDefinition; containerSize?: number }) {
  const index = indexDefinition(input.definition)
  const sequence = new ExportSequence(input.electionId, input.containerSize)
  const perContest = new Map(input.definition.contests.map((c) => [c.id, new Map<string, BatchTally>()]))
  return {
    add(ballot: ExportBallot): void {
      const { batch } = sequence.place(ballot)
      for (const outcome of judge(index, ballot)) {
        const tallies = perContest.get(outcome.contestId) as Map<string, BatchTally>
        let t = tallies.get(batch.name)
        if (!t) {
          const lines = resultLines(index.contests.get(outcome.contestId) as ContestRules)
          t = {
            batch: batch.name,
            ...batchFields(batch),
            ballots: 0,
            votes: Object.fromEntries(lines.map((l) => [l.id, 0])),
            overvotes: 0,
            undervotes: 0,
          }
          tallies.set(batch.name, t)
        }
        t.ballots++
        t.overvotes += outcome.overvoted
        t.undervotes += outcome.undervotes
        for (const s of outcome.selections) t.votes[s] = (t.votes[s] ?? 0) + 1
      }
    },
    result(): ContestBatchTallies[] {
      return input.definition.contests.map((c) => {
        const choices = resultLines(c).map((l) => ({ id: l.id, name: l.name, writeIn: l.writeIn }))
        const batches = [...(perContest.get(c.id) as Map<string, BatchTally>).values()].sort(byBatch)
        const totals = {
          ballots: 0,
          votes: Object.fromEntries(choices.map((l) => [l.id, 0])) as Record<string, number>,
          overvotes: 0,
          undervotes: 0,
        }
        for (const b of batches) {
          totals.ballots += b.ballots
          totals.overvotes += b.overvotes
          totals.undervotes += b.undervotes
          for (const l of choices) totals.votes[l.id] = (totals.votes[l.id] ?? 0) + (b.votes[l.id] ?? 0)
        }
        return { contestId: c.id, name: c.name, type: c.type, votesAllowed: c.votesAllowed, choices, batches, totals }
      })
    },
  }
}

const batchFields = (b: BatchRef) => ({ regionId: b.regionId, channel: b.channel, container: b.container })

/**
 * One contest's batch tallies in Arlo's layout: `Batch Name`, then one column per choice
 * under the name the contest gives it (the write-in line: `Write-In`; a name given twice
 * gets its id in brackets, since Arlo matches columns by name). `overUnder` adds
 * `Overvotes` (ballots) and `Undervotes` (votes) at the end.
 */
export function batchTalliesCsv(tallies: ContestBatchTallies, options: { overUnder?: boolean } = {}): string {
  const names = tallies.choices.map((c) => (c.writeIn && c.id === WRITE_IN_SELECTION ? 'Write-In' : c.name))
  const repeated = new Set(names.filter((n, i) => names.indexOf(n) !== i))
  const header = names.map((n, i) => (repeated.has(n) ? `${n} (${tallies.choices[i]?.id})` : n))
  const extra = options.overUnder ? ['Overvotes', 'Undervotes'] : []
  return csv([
    ['Batch Name', ...header, ...extra],
    ...tallies.batches.map((b) => [
      b.batch,
      ...tallies.choices.map((c) => String(b.votes[c.id] ?? 0)),
      ...(options.overUnder ? [String(b.overvotes), String(b.undervotes)] : []),
    ]),
  ])
}

/** The counter's verdict on a ballot of the box, contest by contest; the box holds only counted ballots, so a refusal is corruption. */
export function judge(index: TabulationIndex, ballot: ExportBallot) {
  const t = tabulateBallot(index, ballot.regionId, ballot.marks)
  if (!t.ok) throw new Error(`a ballot in the box would not be counted (${t.reason}: ${t.detail})`)
  if (t.styleId !== ballot.styleId)
    throw new Error(`a ballot of region ${ballot.regionId} has style ${ballot.styleId}; the definition gives the region style ${t.styleId}`)
  return t.contests
}

/** RFC 4180: a field with a comma, a quote, a line break or edge spaces is quoted, its quotes doubled; lines end in CRLF. */
export function csv(rows: string[][]): string {
  return `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`
}

function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const channelRank = (c: string) => (CHANNELS as readonly string[]).indexOf(c)
const byCell = (a: { regionId: string; channel: string }, b: { regionId: string; channel: string }) =>
  compare(a.regionId, b.regionId) || channelRank(a.channel) - channelRank(b.channel)
const byBatch = (a: BatchTally, b: BatchTally) => byCell(a, b) || a.container - b.container
