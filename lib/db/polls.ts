import type { Db } from './sql.ts'

/** The end of each partition of a topic when the polls closed. */
export type CloseMarks = Record<string, string>

/**
 * Locks an election's row until the transaction ends. Counting reads the row `for share`,
 * so this waits for every batch in flight for the election and holds new ones back.
 */
export async function lockElection(tx: Db, electionId: string): Promise<void> {
  await tx`select 1 from elections where id = ${electionId} for update`
}

export async function storeCloseMarks(tx: Db, electionId: string, topic: string, marks: CloseMarks, produced: number | null) {
  const parts = Object.keys(marks)
  await tx`
    insert into poll_close_marks (election_id, topic, kafka_partition, high_offset)
    select ${electionId}, ${topic}, * from unnest(${parts.map(Number)}::int[], ${parts.map((p) => marks[p] ?? '0')}::bigint[])
    on conflict do nothing`
  if (produced !== null) await tx`update elections set produced_ballots = ${produced} where id = ${electionId}`
}

export async function closeMarks(db: Db, electionId: string, topic: string): Promise<CloseMarks | null> {
  const rows = await db<{ partition: number; highOffset: string }[]>`
    select kafka_partition as partition, high_offset::text from poll_close_marks where election_id = ${electionId} and topic = ${topic}`
  return rows.length === 0 ? null : Object.fromEntries(rows.map((r) => [String(r.partition), r.highOffset]))
}

/**
 * Records the partition count of `votes` when the polls open: the first count recorded
 * stays (a retried open, or one after a restart, finds it there).
 */
export async function recordVotesPartitions(db: Db, electionId: string, partitions: number): Promise<void> {
  await db`update elections set votes_partitions = coalesce(votes_partitions, ${partitions}) where id = ${electionId}`
}

/** The partition count of `votes` when the election's polls opened (null: not recorded). */
export async function votesPartitionsAtOpen(db: Db, electionId: string): Promise<number | null> {
  const [row] = await db<{ partitions: number | null }[]>`select votes_partitions as partitions from elections where id = ${electionId}`
  return row?.partitions ?? null
}

/**
 * Voters with another ballot (rejected as `duplicate_voter`) on a partition other than the
 * one their counted ballot lies on: for them, which ballot counted was not decided by the
 * log's order. (A re-send of the same ballot is a recorded duplicate, not this: it is the
 * same ballot wherever it lies.) Counts only: no voter id leaves this function.
 */
export async function votersOnTwoPartitions(db: Db, electionId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    select count(distinct r.voter_id)::int as n
    from rejected_ballots r
    join ballots b on b.election_id = r.election_id and b.voter_id = r.voter_id
    where r.election_id = ${electionId} and r.reason = 'duplicate_voter'
      and (r.kafka_partition <> b.kafka_partition or r.topic <> b.kafka_topic)`
  return row?.n ?? 0
}

/** Elections open (or closing) whose partition count at the open is below `partitions`: their ids and that count. */
export async function electionsOpenedWithFewerPartitions(db: Db, partitions: number): Promise<Array<{ id: string; atOpen: number }>> {
  return db<Array<{ id: string; atOpen: number }>>`
    select id, votes_partitions as at_open from elections
    where status in ('open', 'closing') and votes_partitions < ${partitions} order by id limit 50`
}
