import { decodeBallot, type Marks, type RejectionReason, safeId } from '../../domain/ballot.ts'
import { sumVectors } from '../../domain/count-vector.ts'
import { type ContestOutcome, tabulateBallot } from '../../domain/tabulation.ts'
import { addCountVectors, boxBallots } from '../db/ballot-box.ts'
import {
  type Accounted,
  type BallotRow,
  classifyAndInsert,
  type DuplicateRow,
  findCountedBallots,
  finishBatch,
  lockPartitions,
  type RejectionRow,
  recordDuplicates,
} from '../db/counting.ts'
import type { Sql } from '../db/sql.ts'
import { type CountingIndex, definitions } from './definitions.ts'

/** One consumed Kafka message, as the counter needs it. */
export interface ConsumedMessage {
  partition: number
  offset: string
  value: Buffer | null
  /** Producers may name the election in a header, so even unreadable bytes are attributed. */
  electionHeader?: string
  /**
   * Set on an entry that stands for positions `offset`..`skippedThrough` (inclusive) that
   * the broker holds but did not hand over: transaction markers and the records of aborted
   * transactions. They carry no ballot; they advance the fence and count as skipped.
   */
  skippedThrough?: string
}

export interface Rejection extends RejectionRow {
  topic: string
}

export interface BatchOutcome {
  counted: number
  /** Of those, ballots of elections with contests: their marks went into the pending ballot box. */
  boxed: number
  /** Rejections recorded by this batch, one per message. */
  rejected: Rejection[]
  /** Messages that repeat a ballot already counted, recorded as such. */
  duplicates: number
  /** Messages below the stored offset: accounted for by an earlier commit, so nothing changed. */
  redelivered: number
  /** Elections whose counts or rejections changed. */
  changed: Set<string>
  /** Milliseconds from each counted ballot's castAt to the commit. */
  latenciesMs: number[]
}

export interface BatchInput {
  groupId: string
  topic: string
  messages: ConsumedMessage[]
  /** How far ahead of the database's clock a ballot's castAt may be (producers' clocks drift). */
  maxClockSkewMs?: number
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 120_000

/** Thrown for a state that a retry resolves (another transaction was between our statements). */
export class TransientCountingError extends Error {
  override name = 'TransientCountingError'
}

/**
 * Counts one batch in one transaction and accounts for every message in it by its
 * position: counted, rejected with a reason, or a recorded duplicate of a counted ballot.
 * The stored offsets are locked first and advanced last, so a crash anywhere before the
 * commit leaves nothing, and a redelivered position changes nothing after it.
 *
 * `beforeCommit` runs inside the transaction with the rejections just recorded, so they
 * are published at least once (a failed commit republishes them on redelivery).
 */
export async function countBatch(
  sql: Sql,
  input: BatchInput,
  beforeCommit?: (rejections: Rejection[]) => Promise<void>,
): Promise<BatchOutcome> {
  const { topic } = input
  const skewMs = input.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS
  const decoded = input.messages.flatMap((m, idx) => (m.skippedThrough === undefined ? [{ m, idx, d: decodeBallot(m.value) }] : []))

  const result = await sql.begin(async (tx) => {
    const fence = await lockPartitions(
      tx,
      input.groupId,
      topic,
      input.messages.map((m) => m.partition),
      decoded.flatMap(({ d }) => (d.ok ? [d.ballot.electionId] : [])),
    )
    // A position is one message: should the same position come twice in one batch (a
    // re-fetch merged with the fetch it repeats), the copy is a redelivery, never a second
    // ballot (the ledger's walk already skips it).
    const seen = new Set<string>()
    const fresh = decoded.filter(({ m }) => {
      if (compareOffsets(m.offset, fence.get(m.partition) ?? '0') < 0) return false
      const at = `${m.partition}:${m.offset}`
      if (seen.has(at)) return false
      seen.add(at)
      return true
    })
    const redelivered = decoded.length - fresh.length
    const accounted = accountedPerPartition(input.messages, fence)

    const rejections: Rejection[] = []
    const reject = (b: BallotRow & { raw: Buffer }, reason: RejectionReason, detail: string) =>
      rejections.push({ topic, ...position(b), ...ids(b), reason, detail, raw: b.raw, castAt: b.castAt })
    const duplicates: DuplicateRow[] = []
    /** Decoded ballots that passed the checks made here: the database classifies them next. */
    const toClassify: Array<BallotRow & { raw: Buffer }> = []
    // Ballots of elections with contests: judged against the definition before the
    // database sees them (what goes into the ballot box is what was judged).
    const boxed = new Map<number, { styleId: string; marks: Marks; contests: ContestOutcome[]; imprint: string | null }>()
    const defs = await definitions.get(
      tx,
      fresh.flatMap(({ d }) => (d.ok ? [d.ballot.electionId] : [])),
    )
    for (const { m, idx, d } of fresh) {
      if (!d.ok) {
        rejections.push({
          topic,
          partition: m.partition,
          offset: m.offset,
          electionId: d.partial?.electionId ?? safeId(m.electionHeader) ?? null,
          voterId: d.partial?.voterId ?? null,
          ballotId: d.partial?.ballotId ?? null,
          reason: d.reason,
          detail: d.detail,
          raw: m.value ?? Buffer.alloc(0),
          castAt: null,
        })
        continue
      }
      const { v: _, ...ballot } = d.ballot
      const row = {
        ...ballot,
        candidateId: 'candidateId' in ballot ? ballot.candidateId : null,
        idx,
        partition: m.partition,
        offset: m.offset,
        raw: m.value ?? Buffer.alloc(0),
      }
      const index = defs.get(ballot.electionId)
      if (index) {
        // A ballot of the first kind names one candidate: a mark in the election's first contest.
        const marks: Marks = 'marks' in ballot ? ballot.marks : { [index.resolved.contests[0]?.id ?? '']: [ballot.candidateId] }
        const judged = tabulateBallot(index, ballot.regionId, marks)
        if (!judged.ok) {
          reject(row, judged.reason, judged.detail)
          continue
        }
        const imprint = 'imprint' in ballot ? (ballot.imprint ?? null) : null
        boxed.set(idx, { styleId: judged.styleId, marks: judged.marks, contests: judged.contests, imprint })
        row.candidateId = null
      } else if (index === null && 'marks' in ballot) {
        reject(row, 'wrong_ballot_version', `election ${ballot.electionId} has no contests: its ballots name a candidate (version 1)`)
        continue
      }
      // The same ballot twice in one batch (a producer's retry) is left to the database: the
      // first that passes every check is inserted, and a later one finds it as a conflict.
      // Deciding here would make a re-send the duplicate of a message that is then rejected.
      toClassify.push(row)
    }

    const byIdx = new Map(toClassify.map((b) => [b.idx, b]))
    const inserted: BallotRow[] = []
    const conflicts: Array<BallotRow & { raw: Buffer }> = []
    for (const row of await classifyAndInsert(tx, topic, toClassify, skewMs)) {
      const b = byIdx.get(row.idx)
      if (!b) continue
      if (row.reason) reject(b, row.reason, reasonDetail(row.reason, b))
      else if (row.inserted) inserted.push(b)
      else conflicts.push(b)
    }
    // Valid but not inserted: the same ballot again, or the voter's place (or the id) taken.
    if (conflicts.length > 0) {
      const existing = await findCountedBallots(tx, conflicts)
      const byVoter = new Map(existing.map((e) => [`${e.electionId}|${e.voterId}`, e]))
      const idsTaken = new Set(existing.map((e) => e.ballotId))
      for (const b of conflicts) {
        const counted = byVoter.get(`${b.electionId}|${b.voterId}`)
        if (counted?.ballotId === b.ballotId) {
          duplicates.push({
            ...ids(b),
            ...position(b),
            original: { topic: counted.topic, partition: counted.partition, offset: counted.offset },
          })
        } else if (counted) reject(b, 'duplicate_voter', `voter ${b.voterId} has already voted in ${b.electionId}`)
        else if (idsTaken.has(b.ballotId)) reject(b, 'duplicate_ballot_id', `ballot id ${b.ballotId} belongs to another voter's ballot`)
        else
          throw new TransientCountingError(`ballot ${b.ballotId} was neither inserted nor found: a concurrent writer? retrying the batch`)
      }
    }

    // The counted ballots of elections with contests: into the pending box, and their
    // styles' totals, before the results lock (lib/db/ballot-box.ts boxBallots); their
    // count vectors after it, with the version.
    const judgedInserted = inserted.flatMap((b) => {
      const judged = boxed.get(b.idx)
      return judged ? [{ electionId: b.electionId, partition: b.partition, regionId: b.regionId, channel: b.channel, ...judged }] : []
    })
    const vectors = judgedInserted.length > 0 ? sumVectors(judgedInserted, (id) => (defs.get(id) as CountingIndex).vector) : []
    await boxBallots(
      tx,
      judgedInserted.map((b) => ({
        electionId: b.electionId,
        regionId: b.regionId,
        channel: b.channel,
        styleId: b.styleId,
        marks: b.marks,
        imprint: b.imprint,
      })),
      vectors,
    )

    // Duplicates change an election's expected ballots: they take a version too.
    const changed = new Set([
      ...inserted.map((b) => b.electionId),
      ...rejections.flatMap((r) => (r.electionId ? [r.electionId] : [])),
      ...duplicates.map((d) => d.electionId),
    ])
    const version = await finishBatch(tx, {
      groupId: input.groupId,
      topic,
      electionIds: changed,
      counted: inserted,
      rejections,
      accounted,
    })
    await recordDuplicates(tx, topic, duplicates, version ?? '0')
    await addCountVectors(tx, version ?? '0', vectors)
    if (beforeCommit && rejections.length > 0) await beforeCommit(rejections)
    return { inserted, rejections, duplicates: duplicates.length, redelivered, changed, boxed: judgedInserted.length }
  })
  const committedAt = Date.now()
  return {
    counted: result.inserted.length,
    boxed: result.boxed,
    rejected: result.rejections,
    duplicates: result.duplicates,
    redelivered: result.redelivered,
    changed: result.changed,
    latenciesMs: result.inserted.map((b) => committedAt - Date.parse(b.castAt)),
  }
}

/**
 * Records one message as `unprocessable`, with the database's reason, in a transaction of
 * its own: the last resort for a message that passed every check and still made its batch
 * fail. Its bytes are kept; nothing is taken from them but ids that pass the id rule.
 */
export async function rejectUnprocessable(
  sql: Sql,
  input: BatchInput & { messages: [ConsumedMessage] },
  detail: string,
  beforeCommit?: (rejections: Rejection[]) => Promise<void>,
): Promise<BatchOutcome> {
  const { topic } = input
  const [m] = input.messages
  const d = decodeBallot(m.value)
  const attributed = d.ok ? d.ballot : d.partial
  const rejection: Rejection = {
    topic,
    partition: m.partition,
    offset: m.offset,
    electionId: attributed?.electionId ?? safeId(m.electionHeader) ?? null,
    voterId: attributed?.voterId ?? null,
    ballotId: attributed?.ballotId ?? null,
    reason: 'unprocessable',
    detail,
    raw: m.value ?? Buffer.alloc(0),
    castAt: null,
  }
  const recorded = await sql.begin(async (tx) => {
    const fence = await lockPartitions(tx, input.groupId, topic, [m.partition])
    if (compareOffsets(m.offset, fence.get(m.partition) ?? '0') < 0) return false
    await finishBatch(tx, {
      groupId: input.groupId,
      topic,
      electionIds: rejection.electionId ? [rejection.electionId] : [],
      counted: [],
      rejections: [rejection],
      accounted: accountedPerPartition([m], fence),
    })
    if (beforeCommit) await beforeCommit([rejection])
    return true
  })
  return {
    counted: 0,
    boxed: 0,
    rejected: recorded ? [rejection] : [],
    duplicates: 0,
    redelivered: recorded ? 0 : 1,
    changed: new Set(recorded && rejection.electionId ? [rejection.electionId] : []),
    latenciesMs: [],
  }
}

/**
 * What a transaction accounts for, per partition, walking its entries in log order from
 * the fence: each position is a message (counted, rejected or a duplicate), a skipped
 * record (an entry with `skippedThrough`), or part of a gap: positions between the fence
 * and the next entry that were never handed over (deleted by retention before they were
 * read, or skipped by the client). A gap is recorded, never passed over in silence.
 * Entries below the fence were accounted by an earlier commit and add nothing.
 */
export function accountedPerPartition(entries: ConsumedMessage[], fences: Map<number, string>): Map<number, Accounted> {
  const out = new Map<number, Accounted>()
  for (const e of entries) {
    let a = out.get(e.partition)
    if (!a) {
      a = { next: Number(fences.get(e.partition) ?? '0'), messages: 0, skipped: 0, gaps: [] }
      out.set(e.partition, a)
    }
    // Numbers, not BigInts (a visible share of the tally's CPU per message): offsets stay
    // below 2^53 for centuries at any rate a broker takes.
    const from = Number(e.offset)
    const through = e.skippedThrough === undefined ? from : Number(e.skippedThrough)
    if (through < a.next) continue
    if (from > a.next) a.gaps.push({ from: a.next, to: from })
    if (e.skippedThrough === undefined) a.messages++
    else a.skipped += through - Math.max(from, a.next) + 1
    a.next = through + 1
  }
  for (const [p, a] of out) if (a.messages === 0 && a.skipped === 0 && a.gaps.length === 0) out.delete(p)
  return out
}

/**
 * Orders two offsets as Kafka writes them (decimal, no sign, no leading zeros) without
 * making a BigInt of each: per message, that was a visible share of the tally's CPU.
 */
export function compareOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

function reasonDetail(reason: RejectionReason, b: BallotRow): string {
  switch (reason) {
    case 'unknown_election':
      return `no election ${b.electionId}`
    case 'election_not_open':
      return `election ${b.electionId} was not open when this message reached the log`
    case 'cast_in_future':
      return `castAt ${b.castAt} is later than the counter's clock allows`
    case 'cast_before_open':
      return `castAt ${b.castAt} is before election ${b.electionId} opened`
    case 'unknown_candidate':
      return `no candidate ${b.candidateId} in ${b.electionId}`
    case 'unknown_region':
      return `no region ${b.regionId} in ${b.electionId}`
    case 'voter_not_registered':
      return `voter ${b.voterId} is not on the roll of ${b.electionId}`
    case 'wrong_region':
      return `voter ${b.voterId} is not registered in region ${b.regionId}`
    default:
      return reason
  }
}

const ids = (b: BallotRow) => ({ electionId: b.electionId, voterId: b.voterId, ballotId: b.ballotId })
const position = (b: { partition: number; offset: string }) => ({ partition: b.partition, offset: b.offset })
