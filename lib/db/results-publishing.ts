import type { Db } from './sql.ts'

/**
 * Takes or renews the results publisher's lease for `holder` until `ttlMs` from now, when it
 * is free, expired or already `holder`'s. Returns whether `holder` holds it now.
 */
export async function holdPublisherLease(db: Db, holder: string, ttlMs: number): Promise<boolean> {
  const [row] = await db<{ holder: string }[]>`
    insert into results_publisher_lease (id, holder, expires_at)
    values (1, ${holder}, now() + ${ttlMs} * interval '1 millisecond')
    on conflict (id) do update set holder = excluded.holder, expires_at = excluded.expires_at
    where results_publisher_lease.holder = excluded.holder or results_publisher_lease.expires_at < now()
    returning holder`
  return row?.holder === holder
}

/** Gives the lease up (a clean shutdown), so another instance takes it at once. */
export async function releasePublisherLease(db: Db, holder: string): Promise<void> {
  await db`delete from results_publisher_lease where id = 1 and holder = ${holder}`
}

/** Marks elections as changed for the publisher (every instance, the publisher too: a mark outlives the process). */
export async function markResultsDirty(db: Db, electionIds: readonly string[]): Promise<void> {
  if (electionIds.length === 0) return
  await db`
    insert into results_dirty (election_id) select unnest(${electionIds as string[]}::text[])
    on conflict (election_id) do update set marked_at = now()`
}

/**
 * The elections marked changed, with when each was last marked: the publisher reads them
 * and clears each only once its snapshot is sent (clearResultsDirty), so a publisher that
 * dies mid-round leaves them for the next.
 */
export async function readResultsDirty(db: Db): Promise<Array<{ electionId: string; markedAt: string }>> {
  // As text, and compared as text cast back (clearResultsDirty): a JavaScript Date keeps
  // milliseconds, the column microseconds, and a mark read back a few microseconds short
  // would never be cleared.
  return db<Array<{ electionId: string; markedAt: string }>>`
    select election_id, marked_at::text as marked_at from results_dirty order by results_dirty.marked_at limit 1000`
}

/** Clears an election's mark if nobody marked it again since `seenAt` (then the next round publishes it again). */
export async function clearResultsDirty(db: Db, electionId: string, seenAt: string): Promise<void> {
  await db`delete from results_dirty where election_id = ${electionId} and marked_at <= ${seenAt}::text::timestamptz`
}
