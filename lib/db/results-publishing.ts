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

/** Marks elections as changed for the publisher (an instance that does not hold the lease). */
export async function markResultsDirty(db: Db, electionIds: readonly string[]): Promise<void> {
  if (electionIds.length === 0) return
  await db`
    insert into results_dirty (election_id) select unnest(${electionIds as string[]}::text[])
    on conflict (election_id) do nothing`
}

/** Takes the elections other instances changed (the publisher, once per round). */
export async function takeResultsDirty(db: Db): Promise<string[]> {
  const rows = await db<{ electionId: string }[]>`delete from results_dirty returning election_id`
  return rows.map((r) => r.electionId)
}
