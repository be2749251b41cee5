import type { Db } from './sql.ts'

/**
 * Results versions. Versions must become visible in order, or a client following
 * `?since=N` could miss a change: a transaction that took version 10 but committed after
 * one that took 11 would be invisible to a client that already has 11. So a version is
 * taken only under a per-election lock that is released after commit (PostgreSQL releases
 * locks once the commit is visible): a later version of an election is never visible
 * before an earlier one. Take it as late as possible, since the lock serialises what
 * follows it. Elections are locked in sorted order, so two transactions never wait in a
 * cycle.
 */

/** Holds the results lock of these elections until the transaction ends. */
export async function lockResults(tx: Db, electionIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(electionIds)].sort()
  await tx`select count(pg_advisory_xact_lock(hashtextextended('results:' || id, 0))) from unnest(${ids}::text[]) as id`
}

/** The next version; call only while holding the results lock of what it versions. */
export async function nextResultsVersion(tx: Db): Promise<string> {
  const [row] = await tx<{ version: string }[]>`select nextval('results_version')::text as version`
  if (!row) throw new Error('no results version')
  return row.version
}

/** Locks these elections' results and takes the next version, in one round trip. */
export async function takeResultsVersion(tx: Db, electionIds: Iterable<string>): Promise<string> {
  const ids = [...new Set(electionIds)].sort()
  const [row] = await tx<{ version: string }[]>`
    select nextval('results_version')::text as version
    from (select count(pg_advisory_xact_lock(hashtextextended('results:' || id, 0))) from unnest(${ids}::text[]) as id) locked`
  if (!row) throw new Error('no results version')
  return row.version
}
