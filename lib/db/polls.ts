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
