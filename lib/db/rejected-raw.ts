import type { Db } from './sql.ts'

/**
 * Replaces the raw bytes of old rejections by their SHA-256 and size, at most `limit` rows
 * per call (the caller repeats while rows come back): the rejections of elections
 * certified more than `keepDays` ago, and of messages with no known election rejected more
 * than `keepDays` ago. Returns how many rows it purged.
 */
export async function purgeRejectedRaw(db: Db, options: { keepDays: number; limit: number }): Promise<number> {
  const rows = await db`
    with due as (
      select r.topic, r.kafka_partition, r.kafka_offset
      from rejected_ballots r left join elections e on e.id = r.election_id
      where r.raw_purged_at is null
        and (case when e.id is null then r.rejected_at else e.certified_at end) < now() - make_interval(days => ${options.keepDays})
      limit ${options.limit}
      for update of r skip locked
    )
    update rejected_ballots r
    set raw_sha256 = sha256(r.raw), raw_bytes = length(r.raw), raw = ''::bytea, raw_purged_at = now()
    from due
    where r.topic = due.topic and r.kafka_partition = due.kafka_partition and r.kafka_offset = due.kafka_offset
    returning 1`
  return rows.length
}
