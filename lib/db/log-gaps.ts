import type { Db } from './sql.ts'

export type LogGapKind = 'missing' | 'log_truncated'

export interface LogGap {
  partition: number
  /** [from, to): the positions never read. */
  from: string
  to: string
  kind: LogGapKind
  detail: string
}

/** Records gaps in a partition's log (once each: the same gap seen again is not a new one). */
export async function recordLogGaps(db: Db, groupId: string, topic: string, gaps: LogGap[]): Promise<void> {
  if (gaps.length === 0) return
  await db`
    insert into log_gaps (group_id, topic, kafka_partition, from_offset, to_offset, kind, detail)
    select ${groupId}, ${topic}, * from unnest(${gaps.map((g) => g.partition)}::int[], ${gaps.map((g) => g.from)}::bigint[],
                                              ${gaps.map((g) => g.to)}::bigint[], ${gaps.map((g) => g.kind)}::text[],
                                              ${gaps.map((g) => g.detail)}::text[])
    on conflict do nothing`
}

/** Gaps recorded in a topic's log since a moment (an election's opening). */
export async function logGapsSince(db: Db, groupId: string, topic: string, since: Date) {
  return db<(LogGap & { detectedAt: Date })[]>`
    select kafka_partition as partition, from_offset::text as from, to_offset::text as to, kind, detail, detected_at
    from log_gaps where group_id = ${groupId} and topic = ${topic} and detected_at >= ${since}
    order by kafka_partition, from_offset`
}
