import { createHash } from 'node:crypto'
import { type Ballot, decodeBallot, type RejectionReason } from '../../domain/ballot.ts'
import type { Db, Sql } from '../../lib/db/sql.ts'

/** One consumed Kafka message, as the counter needs it. */
export interface ConsumedMessage {
  partition: number
  offset: string
  value: Buffer | null
  /** Producers may name the election in a header, so even unreadable bytes are attributed. */
  electionHeader?: string
}

export interface Rejection {
  dedupeKey: string
  partition: number
  offset: string
  electionId: string | null
  voterId: string | null
  ballotId: string | null
  reason: RejectionReason
  detail: string
  raw: Buffer
  castAt: string | null
}

export interface BatchOutcome {
  counted: number
  /** Rejections recorded by this batch (a redelivered rejection is not recorded again). */
  rejected: Rejection[]
  /** Ballots that were already counted: redelivered or re-sent with the same ballot id. */
  alreadyCounted: number
  /** Elections whose counts changed. */
  changed: Set<string>
  /** Milliseconds from each counted ballot's castAt to the commit. */
  latenciesMs: number[]
}

export interface BatchInput {
  groupId: string
  topic: string
  messages: ConsumedMessage[]
}

interface Candidate extends Ballot {
  idx: number
  partition: number
  offset: string
  /** The message's own bytes: a rejection keeps exactly what was sent. */
  raw: Buffer
}

/**
 * Counts one batch in one transaction: the ballots (a voter's second ballot does
 * nothing), the running counts of only the inserted ballots, the rejections with their
 * reasons, and the next offset of every partition in the batch. A crash anywhere before
 * the commit leaves nothing; after it, redelivery counts nothing twice.
 *
 * `beforeCommit` runs inside the transaction with the rejections just recorded, so they
 * are published at least once (a failed commit republishes them on redelivery).
 */
export async function countBatch(
  sql: Sql,
  input: BatchInput,
  beforeCommit?: (rejections: Rejection[]) => Promise<void>,
): Promise<BatchOutcome> {
  const rejections: Rejection[] = []
  const seen = new Set<string>()
  const ballots: Candidate[] = []
  let alreadyCounted = 0

  for (const [idx, m] of input.messages.entries()) {
    const decoded = decodeBallot(m.value)
    if (!decoded.ok) {
      const raw = m.value ?? Buffer.alloc(0)
      rejections.push({
        dedupeKey: decoded.partial?.ballotId ? identityOf(decoded.partial) : `sha256:${createHash('sha256').update(raw).digest('hex')}`,
        partition: m.partition,
        offset: m.offset,
        electionId: decoded.partial?.electionId ?? m.electionHeader ?? null,
        voterId: decoded.partial?.voterId ?? null,
        ballotId: decoded.partial?.ballotId ?? null,
        reason: decoded.reason,
        detail: decoded.detail,
        raw,
        castAt: null,
      })
      continue
    }
    // The same ballot twice in one batch is a redelivery or a re-send: count it once.
    const identity = identityOf(decoded.ballot)
    if (seen.has(identity)) {
      alreadyCounted++
      continue
    }
    seen.add(identity)
    ballots.push({ ...decoded.ballot, idx, partition: m.partition, offset: m.offset, raw: m.value ?? Buffer.alloc(0) })
  }

  const byIdx = new Map(ballots.map((b) => [b.idx, b]))
  const reject = (b: Candidate, reason: RejectionReason, detail: string) =>
    rejections.push({
      dedupeKey: identityOf(b),
      partition: b.partition,
      offset: b.offset,
      electionId: b.electionId,
      voterId: b.voterId,
      ballotId: b.ballotId,
      reason,
      detail,
      raw: b.raw,
      castAt: b.castAt,
    })

  const { inserted, recorded } = await sql.begin(async (tx) => {
    const inserted: Candidate[] = []
    if (ballots.length > 0) {
      const col = <K extends keyof Candidate>(k: K) => ballots.map((b) => b[k])
      // Classify against the election's state, candidates, regions and roll, and insert
      // the valid ones, in one statement: what is checked is what is inserted.
      const rows = await tx<{ idx: number; reason: RejectionReason | null; inserted: boolean }[]>`
        with input as (
          select * from unnest(
            ${col('idx')}::int[], ${col('ballotId')}::uuid[], ${col('electionId')}::text[], ${col('voterId')}::text[],
            ${col('candidateId')}::text[], ${col('regionId')}::text[], ${col('channel')}::text[],
            ${col('castAt')}::timestamptz[], ${col('partition')}::int[], ${col('offset')}::bigint[]
          ) as t(idx, ballot_id, election_id, voter_id, candidate_id, region_id, channel, cast_at, kafka_partition, kafka_offset)
        ),
        classified as (
          select i.*, case
            when e.id is null then 'unknown_election'
            when not (e.status = 'open' or (e.status = 'closing' and i.cast_at <= e.closed_at)) then 'election_not_open'
            when c.id is null then 'unknown_candidate'
            when r.id is null then 'unknown_region'
            when v.id is null then 'voter_not_registered'
            when v.region_id <> i.region_id then 'wrong_region'
          end as reason
          from input i
          left join elections e on e.id = i.election_id
          left join candidates c on c.election_id = i.election_id and c.id = i.candidate_id
          left join regions r on r.election_id = i.election_id and r.id = i.region_id
          left join voters v on v.election_id = i.election_id and v.id = i.voter_id
        ),
        inserted as (
          insert into ballots (ballot_id, election_id, voter_id, candidate_id, region_id, channel, cast_at, kafka_partition, kafka_offset)
          select ballot_id, election_id, voter_id, candidate_id, region_id, channel, cast_at, kafka_partition, kafka_offset
          from classified where reason is null order by idx
          on conflict do nothing
          returning ballot_id, election_id, voter_id
        )
        select c.idx, c.reason, (ins.ballot_id is not null) as inserted
        from classified c left join inserted ins
          on ins.ballot_id = c.ballot_id and ins.election_id = c.election_id and ins.voter_id = c.voter_id`

      const conflicts: Candidate[] = []
      for (const row of rows) {
        const b = byIdx.get(row.idx)
        if (!b) continue
        if (row.reason) reject(b, row.reason, reasonDetail(row.reason, b))
        else if (row.inserted) inserted.push(b)
        else conflicts.push(b)
      }
      // Not inserted although valid: the same ballot again, or the voter (or the id) taken.
      if (conflicts.length > 0) {
        const existing = await tx<{ ballotId: string; electionId: string; voterId: string }[]>`
          select b.ballot_id::text, b.election_id, b.voter_id from ballots b
          join unnest(${conflicts.map((b) => b.electionId)}::text[], ${conflicts.map((b) => b.voterId)}::text[]) as u(e, v)
            on b.election_id = u.e and b.voter_id = u.v
          union
          select b.ballot_id::text, b.election_id, b.voter_id from ballots b
          where b.ballot_id = any(${conflicts.map((b) => b.ballotId)}::uuid[])`
        const byVoter = new Map(existing.map((e) => [`${e.electionId}|${e.voterId}`, e.ballotId]))
        const ids = new Set(existing.map((e) => e.ballotId))
        for (const b of conflicts) {
          const voterBallot = byVoter.get(`${b.electionId}|${b.voterId}`)
          if (voterBallot === b.ballotId) alreadyCounted++
          else if (voterBallot !== undefined) reject(b, 'duplicate_voter', `voter ${b.voterId} has already voted in ${b.electionId}`)
          else if (ids.has(b.ballotId)) reject(b, 'duplicate_ballot_id', `ballot id ${b.ballotId} belongs to another voter's ballot`)
          else throw new Error(`ballot ${b.ballotId} was neither inserted nor found: a concurrent writer? retrying the batch`)
        }
      }
    }
    // One version for everything this batch changes, taken as late as possible so that
    // versions commit nearly in order (see results_version in the schema).
    const [{ version } = { version: '0' }] = await tx<{ version: string }[]>`select nextval('results_version')::text as version`
    await addCounts(tx, inserted, version)

    const recorded = await recordRejections(tx, input.topic, rejections, version)
    await storeOffsets(tx, input)
    if (beforeCommit && recorded.length > 0) await beforeCommit(recorded)
    return { inserted, recorded }
  })
  const committedAt = Date.now()
  return {
    counted: inserted.length,
    rejected: recorded,
    alreadyCounted,
    changed: new Set(inserted.map((b) => b.electionId)),
    latenciesMs: inserted.map((b) => committedAt - Date.parse(b.castAt)),
  }
}

/**
 * Adds the inserted ballots to the running counts, pre-aggregated per row (an upsert may
 * touch a row only once per statement). The rows are per Kafka partition, so tally
 * instances that own different partitions never wait for each other's locks.
 */
async function addCounts(tx: Db, inserted: Candidate[], version: string) {
  if (inserted.length === 0) return
  const counts = new Map<string, { e: string; c: string; r: string; ch: string; p: number; n: number }>()
  const trend = new Map<string, { e: string; c: string; m: string; p: number; n: number }>()
  for (const b of inserted) {
    const k = `${b.electionId}|${b.candidateId}|${b.regionId}|${b.channel}|${b.partition}`
    const row = counts.get(k) ?? { e: b.electionId, c: b.candidateId, r: b.regionId, ch: b.channel, p: b.partition, n: 0 }
    row.n++
    counts.set(k, row)
    const minute = new Date(Math.floor(Date.parse(b.castAt) / 60_000) * 60_000).toISOString()
    const tk = `${b.electionId}|${b.candidateId}|${minute}|${b.partition}`
    const t = trend.get(tk) ?? { e: b.electionId, c: b.candidateId, m: minute, p: b.partition, n: 0 }
    t.n++
    trend.set(tk, t)
  }
  const c = [...counts.values()]
  const t = [...trend.values()]
  await tx`
    insert into tally_counts (election_id, candidate_id, region_id, channel, kafka_partition, votes, version)
    select *, ${version}::bigint from unnest(${c.map((r) => r.e)}::text[], ${c.map((r) => r.c)}::text[], ${c.map((r) => r.r)}::text[],
                         ${c.map((r) => r.ch)}::text[], ${c.map((r) => r.p)}::int[], ${c.map((r) => r.n)}::bigint[])
    on conflict (election_id, candidate_id, region_id, channel, kafka_partition)
    do update set votes = tally_counts.votes + excluded.votes, version = excluded.version`
  await tx`
    insert into trend_buckets (election_id, candidate_id, minute, kafka_partition, votes)
    select * from unnest(${t.map((r) => r.e)}::text[], ${t.map((r) => r.c)}::text[], ${t.map((r) => r.m)}::timestamptz[],
                         ${t.map((r) => r.p)}::int[], ${t.map((r) => r.n)}::bigint[])
    on conflict (election_id, candidate_id, minute, kafka_partition)
    do update set votes = trend_buckets.votes + excluded.votes`
}

async function recordRejections(tx: Db, topic: string, rejections: Rejection[], version: string): Promise<Rejection[]> {
  if (rejections.length === 0) return []
  // One row per key even within a batch (the same bad bytes twice are one rejection).
  const unique = [...new Map(rejections.map((r) => [r.dedupeKey, r])).values()]
  const col = <K extends keyof Rejection>(k: K) => unique.map((r) => r[k])
  const rows = await tx<{ dedupeKey: string }[]>`
    insert into rejected_ballots (dedupe_key, topic, kafka_partition, kafka_offset, election_id, voter_id, ballot_id, reason, detail, raw, cast_at, version)
    select k, ${topic}, p, o, e, v, b, r, d, decode(raw_hex, 'hex'), c, ${version}::bigint
    from unnest(${col('dedupeKey')}::text[], ${col('partition')}::int[], ${col('offset')}::bigint[], ${col('electionId')}::text[],
                ${col('voterId')}::text[], ${col('ballotId')}::text[], ${col('reason')}::text[], ${col('detail')}::text[],
                ${unique.map((r) => r.raw.toString('hex'))}::text[], ${col('castAt')}::timestamptz[])
      as t(k, p, o, e, v, b, r, d, raw_hex, c)
    on conflict (dedupe_key) do nothing
    returning dedupe_key`
  const fresh = new Set(rows.map((r) => r.dedupeKey))
  return unique.filter((r) => fresh.has(r.dedupeKey))
}

async function storeOffsets(tx: Db, input: BatchInput) {
  const next = new Map<number, bigint>()
  for (const m of input.messages) {
    const n = BigInt(m.offset) + 1n
    if (n > (next.get(m.partition) ?? -1n)) next.set(m.partition, n)
  }
  if (next.size === 0) return
  const parts = [...next.keys()]
  await tx`
    insert into consumer_offsets (group_id, topic, partition, next_offset)
    select ${input.groupId}, ${input.topic}, * from unnest(${parts}::int[], ${parts.map((p) => String(next.get(p)))}::bigint[])
    on conflict (group_id, topic, partition)
    do update set next_offset = greatest(consumer_offsets.next_offset, excluded.next_offset), updated_at = now()`
}

/** The next offset to read per partition, as committed with the counts. */
export async function storedOffsets(sql: Sql, groupId: string, topic: string): Promise<Map<number, string>> {
  const rows = await sql<{ partition: number; nextOffset: string }[]>`
    select partition, next_offset::text from consumer_offsets where group_id = ${groupId} and topic = ${topic}`
  return new Map(rows.map((r) => [r.partition, r.nextOffset]))
}

function reasonDetail(reason: RejectionReason, b: Ballot): string {
  switch (reason) {
    case 'unknown_election':
      return `no election ${b.electionId}`
    case 'election_not_open':
      return `election ${b.electionId} is not accepting ballots cast at ${b.castAt}`
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

/** A ballot is the same ballot only if its id, election and voter all match. */
function identityOf(b: Partial<Ballot>): string {
  return `${b.ballotId}|${b.electionId ?? ''}|${b.voterId ?? ''}`
}
