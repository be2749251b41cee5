import type { Db } from './sql.ts'

/**
 * Takes the next results version for everything this transaction changes in these
 * elections, and holds each election's version lock until the transaction ends.
 *
 * Versions must become visible in order, or a client following `?since=N` could miss a
 * change: a transaction that took version 10 but committed after one that took 11 would
 * be invisible to a client that already has 11. Taking the version under a per-election
 * lock that is released only after commit (PostgreSQL releases locks after the commit is
 * visible) means a later version is never visible before an earlier one of the same
 * election. Take it as late as possible: the lock serialises only what follows it.
 * Elections are locked in sorted order, so two transactions never wait in a cycle.
 */
export async function takeResultsVersion(tx: Db, electionIds: Iterable<string>): Promise<string> {
  const ids = [...new Set(electionIds)].sort()
  const [row] = await tx<{ version: string }[]>`
    select nextval('results_version')::text as version
    from (select count(pg_advisory_xact_lock(hashtextextended('results:' || id, 0))) from unnest(${ids}::text[]) as id) locked`
  if (!row) throw new Error('no results version')
  return row.version
}
