import type { Channel, RejectionReason } from '../../domain/ballot.ts'
import { BALLOTS_KEY } from '../../domain/contests.ts'
import type { LedgerRow } from '../../domain/ledger.ts'
import type { Db } from './sql.ts'

/**
 * The statements of the counting transaction (lib/counting/count-batch.ts). Each takes
 * the transaction as its first argument; all of them together account for every message
 * of a batch by its position: counted, rejected or a recorded duplicate.
 */

export interface Position {
  topic: string
  partition: number
  offset: string
}

/** A decoded ballot about to be classified, with where it sits in the log. */
export interface BallotRow {
  idx: number
  ballotId: string
  electionId: string
  voterId: string
  /** null for a ballot of an election with contests: its marks go to the ballot box, never beside the voter. */
  candidateId: string | null
  regionId: string
  channel: Channel
  castAt: string
  partition: number
  offset: string
}

export interface RejectionRow {
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

/** What one transaction accounts for in one partition (see accountedPerPartition). */
export interface Accounted {
  /** The fence after this transaction: the next position to account for. */
  next: number
  messages: number
  /** Positions the broker did not hand over: transaction markers, aborted records. */
  skipped: number
  /** Ranges [from, to) between the fence and the next position handed over: never read. */
  gaps: Array<{ from: number; to: number }>
}

export interface DuplicateRow {
  partition: number
  offset: string
  electionId: string
  voterId: string
  ballotId: string
  original: Position
}

/**
 * The fence: locks the stored offset of each partition for the rest of the transaction and
 * returns the next offset to account for. Messages below it were accounted by a committed
 * transaction (a redelivery, or another instance that held the partition before a
 * rebalance) and must change nothing. Partitions are locked in order, so two transactions
 * never wait for each other in a cycle.
 *
 * The same statement reads the batch's elections `for share`: a status change (closing
 * the polls, finishing the count) waits for this transaction, and this one waits for a
 * status change in flight. It must come before the statements that classify: under READ
 * COMMITTED a statement that waited for a lock still reads other tables as they were when
 * it began, so the classifying statement has to begin after the lock is held to see the
 * close marks stored with the status.
 */
export async function lockPartitions(
  tx: Db,
  groupId: string,
  topic: string,
  partitions: number[],
  electionIds: string[] = [],
): Promise<Map<number, string>> {
  const sorted = [...new Set(partitions)].sort((a, b) => a - b)
  const elections = [...new Set(electionIds)].sort()
  const rows = await tx<{ partition: number; nextOffset: string }[]>`
    with elections_locked as (
      select id from elections where id = any(${elections}::text[]) order by id for share
    )
    insert into consumer_offsets (group_id, topic, partition, next_offset, messages)
    select ${groupId}, ${topic}, p, 0, 0 from unnest(${sorted}::int[]) as p
    on conflict (group_id, topic, partition) do update set group_id = excluded.group_id
    returning partition, next_offset::text, (select count(*) from elections_locked) as elections`
  return new Map(rows.map((r) => [r.partition, r.nextOffset]))
}

/** The next offset to read per partition, as committed with the counts. */
export async function storedOffsets(db: Db, groupId: string, topic: string): Promise<Map<number, string>> {
  const rows = await db<{ partition: number; nextOffset: string }[]>`
    select partition, next_offset::text from consumer_offsets where group_id = ${groupId} and topic = ${topic}`
  return new Map(rows.map((r) => [r.partition, r.nextOffset]))
}

export interface Classified {
  idx: number
  reason: RejectionReason | null
  inserted: boolean
}

/**
 * Classifies ballots against their election's state, candidates, regions and roll, and
 * inserts the valid ones, in one statement: what is checked is what is inserted.
 *
 * The elections were locked `for share` by lockPartitions, so their status and close marks
 * hold until commit: nothing is counted for an election once its counting has finished. A
 * ballot for a closing election counts only if
 * its position lies below the partition's mark taken when the polls closed; its `castAt`
 * must lie between the election's opening and the database's clock plus `skewMs`.
 */
export async function classifyAndInsert(tx: Db, topic: string, ballots: BallotRow[], skewMs: number): Promise<Classified[]> {
  if (ballots.length === 0) return []
  const col = <K extends keyof BallotRow>(k: K) => ballots.map((b) => b[k])
  return tx<Classified[]>`
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
        when not (e.status = 'open' or (e.status = 'closing' and coalesce(i.kafka_offset < m.high_offset, false))) then 'election_not_open'
        when i.cast_at > now() + make_interval(secs => ${skewMs / 1000}) then 'cast_in_future'
        when i.cast_at < e.opened_at - make_interval(secs => ${skewMs / 1000}) then 'cast_before_open'
        when i.candidate_id is not null and c.id is null then 'unknown_candidate'
        -- A voter on the roll in the ballot's region proves the region exists (the roll's
        -- foreign key): the region is looked up only for a ballot that fails this, which
        -- spares almost every ballot an index lookup.
        when v.region_id = i.region_id then null
        when not exists (select from regions r where r.election_id = i.election_id and r.id = i.region_id) then 'unknown_region'
        when v.id is null then 'voter_not_registered'
        else 'wrong_region'
      end as reason
      from input i
      left join elections e on e.id = i.election_id
      left join poll_close_marks m on m.election_id = i.election_id and m.topic = ${topic} and m.kafka_partition = i.kafka_partition
      left join candidates c on c.election_id = i.election_id and c.id = i.candidate_id
      left join voters v on v.election_id = i.election_id and v.id = i.voter_id
    ),
    inserted as (
      insert into ballots (ballot_id, election_id, voter_id, candidate_id, region_id, channel, cast_at, kafka_topic, kafka_partition, kafka_offset)
      select ballot_id, election_id, voter_id, candidate_id, region_id, channel, cast_at, ${topic}, kafka_partition, kafka_offset
      from classified where reason is null order by idx
      on conflict do nothing
      returning kafka_partition, kafka_offset
    )
    -- Joined back by position (unique in a batch): two messages with the same ballot are
    -- told apart, and only the one inserted is marked so.
    select c.idx, c.reason, (ins.kafka_offset is not null) as inserted
    from classified c left join inserted ins
      on ins.kafka_partition = c.kafka_partition and ins.kafka_offset = c.kafka_offset`
}

export interface CountedBallot extends Position {
  ballotId: string
  electionId: string
  voterId: string
}

/** The counted ballots that hold these voters' places or these ballot ids. */
export async function findCountedBallots(tx: Db, conflicts: Array<{ electionId: string; voterId: string; ballotId: string }>) {
  return tx<CountedBallot[]>`
    select b.ballot_id::text, b.election_id, b.voter_id, b.kafka_topic as topic, b.kafka_partition as partition, b.kafka_offset::text as offset
    from ballots b
    join unnest(${conflicts.map((b) => b.electionId)}::text[], ${conflicts.map((b) => b.voterId)}::text[]) as u(e, v)
      on b.election_id = u.e and b.voter_id = u.v
    union
    select b.ballot_id::text, b.election_id, b.voter_id, b.kafka_topic, b.kafka_partition, b.kafka_offset::text
    from ballots b where b.ballot_id = any(${conflicts.map((b) => b.ballotId)}::uuid[])`
}

/**
 * The end of the counting transaction, in one statement (one round trip, and the results
 * lock held for as short a time as possible): take the results version under the
 * elections' locks (see versions.ts), add the counted ballots to the running counts and
 * the per-minute trend, record the rejections, and move the fence past every message
 * accounted for. Returns the version, or null when no election's results changed.
 */
export async function finishBatch(
  tx: Db,
  batch: {
    groupId: string
    topic: string
    electionIds: Iterable<string>
    counted: BallotRow[]
    rejections: RejectionRow[]
    accounted: Map<number, Accounted>
  },
): Promise<string | null> {
  const ids = [...new Set(batch.electionIds)].sort()
  const { counts, trend, totals, rate } = aggregate(batch.counted, Date.now())
  const rj = batch.rejections
  const rc = <K extends keyof RejectionRow>(k: K) => rj.map((r) => r[k])
  const parts = [...batch.accounted.keys()]
  const acc = (p: number) => batch.accounted.get(p) as Accounted
  const gaps = parts.flatMap((p) => acc(p).gaps.map((g) => ({ p, ...g })))
  const [row] = await tx<{ version: string | null }[]>`
    with v as (
      select nextval('results_version') as version
      from (select count(pg_advisory_xact_lock(hashtextextended('results:' || id, 0))) from unnest(${ids}::text[]) as id) locked
      where cardinality(${ids}::text[]) > 0
    ), counts as (
      insert into tally_counts (election_id, candidate_id, region_id, channel, kafka_partition, votes, version)
      select e, c, r, ch, p, n, (select version from v)
      from unnest(${counts.map((r) => r.e)}::text[], ${counts.map((r) => r.c)}::text[], ${counts.map((r) => r.r)}::text[],
                  ${counts.map((r) => r.ch)}::text[], ${counts.map((r) => r.p)}::int[], ${counts.map((r) => r.n)}::bigint[]) as t(e, c, r, ch, p, n)
      on conflict (election_id, candidate_id, region_id, channel, kafka_partition)
      do update set votes = tally_counts.votes + excluded.votes, version = excluded.version
      returning 1
    ), trend as (
      insert into trend_buckets (election_id, candidate_id, minute, kafka_partition, votes)
      select * from unnest(${trend.map((r) => r.e)}::text[], ${trend.map((r) => r.c)}::text[], ${trend.map((r) => r.m)}::timestamptz[],
                           ${trend.map((r) => r.p)}::int[], ${trend.map((r) => r.n)}::bigint[])
      on conflict (election_id, candidate_id, minute, kafka_partition)
      do update set votes = trend_buckets.votes + excluded.votes
      returning 1
    ), rate as (
      insert into count_rate (election_id, at, kafka_partition, ballots, latency)
      select e, date_bin('5 seconds', now(), timestamptz 'epoch'), p, n, h::integer[]
      from unnest(${rate.map((r) => r.e)}::text[], ${rate.map((r) => r.p)}::int[], ${rate.map((r) => r.n)}::bigint[],
                  ${rate.map((r) => `{${r.h.join(',')}}`)}::text[]) as t(e, p, n, h)
      on conflict (election_id, at, kafka_partition)
      do update set ballots = count_rate.ballots + excluded.ballots, latency = vec_add(count_rate.latency, excluded.latency)
      returning 1
    ), rejected as (
      insert into rejected_ballots (topic, kafka_partition, kafka_offset, election_id, voter_id, ballot_id, reason, detail, raw, cast_at, version)
      select ${batch.topic}, p, o, e, vo, b, r, d, decode(raw_hex, 'hex'), c, coalesce((select version from v), 0)
      from unnest(${rc('partition')}::int[], ${rc('offset')}::bigint[], ${rc('electionId')}::text[], ${rc('voterId')}::text[],
                  ${rc('ballotId')}::text[], ${rc('reason')}::text[], ${rc('detail')}::text[],
                  ${rj.map((r) => r.raw.toString('hex'))}::text[], ${rc('castAt')}::timestamptz[])
        as t(p, o, e, vo, b, r, d, raw_hex, c)
      on conflict (topic, kafka_partition, kafka_offset) do nothing
      returning election_id, kafka_partition
    ), totals as (
      -- Rejections as recorded (a position recorded before is not counted again). A row that
      -- counted ballots takes the batch's version: results_version() reads its maximum per
      -- partition (db/migrations/0034), not every count row. Rejections alone do not stamp it
      -- (those recorded after counting finished must take no visible version).
      insert into election_totals (election_id, kafka_partition, counted, rejected, version)
      select e, p, sum(c), sum(r), case when sum(c) > 0 then (select version from v) end from (
        select e, p, n as c, 0 as r from unnest(${totals.map((t) => t.e)}::text[], ${totals.map((t) => t.p)}::int[],
                                                ${totals.map((t) => t.n)}::bigint[]) as t(e, p, n)
        union all
        select election_id, kafka_partition, 0, 1 from rejected where election_id is not null
      ) x group by e, p order by e, p
      on conflict (election_id, kafka_partition)
      do update set counted = election_totals.counted + excluded.counted, rejected = election_totals.rejected + excluded.rejected,
                    version = coalesce(excluded.version, election_totals.version)
      returning 1
    ), offsets as (
      update consumer_offsets o
      set next_offset = greatest(o.next_offset, t.next_offset), messages = o.messages + t.messages,
          skipped = o.skipped + t.skipped, gapped = o.gapped + t.gapped, updated_at = now()
      from unnest(${parts}::int[], ${parts.map((p) => String(acc(p).next))}::bigint[], ${parts.map((p) => acc(p).messages)}::bigint[],
                  ${parts.map((p) => acc(p).skipped)}::bigint[], ${parts.map((p) => acc(p).gaps.reduce((n, g) => n + g.to - g.from, 0))}::bigint[])
        as t(partition, next_offset, messages, skipped, gapped)
      where o.group_id = ${batch.groupId} and o.topic = ${batch.topic} and o.partition = t.partition
      returning 1
    ), gaps as (
      -- Positions never read: recorded with the fence that passes them, so certification sees them.
      insert into log_gaps (group_id, topic, kafka_partition, from_offset, to_offset, kind, detail)
      select ${batch.groupId}, ${batch.topic}, p, f, t, 'missing', 'positions between the stored offset and the next one the broker handed over were never read (deleted by retention, or skipped by the client)'
      from unnest(${gaps.map((g) => g.p)}::int[], ${gaps.map((g) => String(g.from))}::bigint[], ${gaps.map((g) => String(g.to))}::bigint[]) as x(p, f, t)
      on conflict do nothing
      returning 1
    )
    select (select version::text from v) as version`
  return row?.version ?? null
}

/**
 * Upper edges (ms) of the latency histogram in `count_rate`, and one open bucket above the
 * last: the same edges as latency_quantile in db/migrations/0028_count_rate.sql.
 */
export const LATENCY_EDGES_MS = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000] as const

/** The histogram bucket of a latency in ms (a castAt ahead of this clock counts as 0). */
export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_EDGES_MS.length; i++) if (ms <= (LATENCY_EDGES_MS[i] as number)) return i
  return LATENCY_EDGES_MS.length
}

/** Pre-aggregates counted ballots per row (an upsert may touch a row only once per statement), sorted by key. */
function aggregate(ballots: BallotRow[], nowMs: number) {
  const counts = new Map<string, { e: string; c: string; r: string; ch: string; p: number; n: number }>()
  const trend = new Map<string, { e: string; c: string; m: string; p: number; n: number }>()
  const totals = new Map<string, { e: string; p: number; n: number }>()
  const rate = new Map<string, { e: string; p: number; n: number; h: number[] }>()
  for (const b of ballots) {
    // A ballot of an election with contests counts here as a ballot, not a choice (BALLOTS_KEY).
    const countedAs = b.candidateId ?? BALLOTS_KEY
    const k = `${b.electionId}|${countedAs}|${b.regionId}|${b.channel}|${b.partition}`
    const row = counts.get(k) ?? { e: b.electionId, c: countedAs, r: b.regionId, ch: b.channel, p: b.partition, n: 0 }
    row.n++
    counts.set(k, row)
    // castAt is canonical (decodeBallot stores toISOString's form), so its minute is a prefix.
    const minute = `${b.castAt.slice(0, 16)}:00.000Z`
    const tk = `${b.electionId}|${countedAs}|${minute}|${b.partition}`
    const t = trend.get(tk) ?? { e: b.electionId, c: countedAs, m: minute, p: b.partition, n: 0 }
    t.n++
    trend.set(tk, t)
    const ek = `${b.electionId}|${b.partition}`
    const total = totals.get(ek) ?? { e: b.electionId, p: b.partition, n: 0 }
    total.n++
    totals.set(ek, total)
    const r = rate.get(ek) ?? { e: b.electionId, p: b.partition, n: 0, h: Array<number>(LATENCY_EDGES_MS.length + 1).fill(0) }
    r.n++
    const bucket = latencyBucket(nowMs - Date.parse(b.castAt))
    r.h[bucket] = (r.h[bucket] ?? 0) + 1
    rate.set(ek, r)
  }
  // In key order: writers that overlap (two tallies during a rebalance, a repair) then lock
  // the same rows in the same order and wait for each other instead of deadlocking.
  const byKey = <V>(m: Map<string, V>) => [...m.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, v]) => v)
  return { counts: byKey(counts), trend: byKey(trend), totals: byKey(totals), rate: byKey(rate) }
}

/** Records messages that repeat a counted ballot, with the position of the one they repeat and the batch's results version. */
export async function recordDuplicates(tx: Db, topic: string, duplicates: DuplicateRow[], version: string) {
  if (duplicates.length === 0) return
  const col = <K extends keyof DuplicateRow>(k: K) => duplicates.map((d) => d[k])
  await tx`
    insert into duplicate_ballots (topic, kafka_partition, kafka_offset, election_id, voter_id, ballot_id,
                                   original_topic, original_partition, original_offset, version)
    select ${topic}, *, ${version}::bigint from unnest(${col('partition')}::int[], ${col('offset')}::bigint[], ${col('electionId')}::text[],
                ${col('voterId')}::text[], ${col('ballotId')}::uuid[], ${duplicates.map((d) => d.original.topic)}::text[],
                ${duplicates.map((d) => d.original.partition)}::int[], ${duplicates.map((d) => d.original.offset)}::bigint[])
    on conflict (topic, kafka_partition, kafka_offset) do nothing`
}

/** Per partition: messages accounted for against what they became (counted + rejected + duplicates). */
export async function messageLedger(db: Db, filter: { groupId?: string; topic?: string } = {}): Promise<LedgerRow[]> {
  return db<LedgerRow[]>`
    select group_id, topic, partition, next_offset::text, messages::text, counted::text, rejected::text, duplicates::text,
           skipped::text, gapped::text, balanced, contiguous
    from message_ledger
    where (${filter.groupId ?? null}::text is null or group_id = ${filter.groupId ?? null})
      and (${filter.topic ?? null}::text is null or topic = ${filter.topic ?? null})
    order by group_id, topic, partition`
}
