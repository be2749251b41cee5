import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql } from './sql.ts'

export const MIGRATIONS_DIR = join(import.meta.dirname, '..', '..', 'db', 'migrations')

/** An arbitrary constant: every process that migrates takes this lock, so they queue. */
const MIGRATION_LOCK = 727_001

/**
 * Migrations that change what a running tally writes or reads, or lock what it writes for
 * the length of an index build: applied while a tally of an older release counts, they
 * stall its batches or leave its writes short (each file's header says how). New ones say
 * so on a line of their own: `-- votestream: stop the tallies`.
 */
const STOP_THE_TALLIES_MARK = /^-- votestream: stop the tallies\s*$/m
const WITH_TALLIES_STOPPED = new Set([
  '0034_results_version_per_partition.sql',
  '0037_cascade_indexes.sql',
  '0038_style_totals.sql',
  '0041_results_version_bounded.sql',
  '0042_released_cells_version.sql',
])
/**
 * A tally's counting sessions (services/tally/main.ts: `votestream-tally <pid>`; before
 * e887a82, `votestream-tally` alone); its migrating session is `votestream-tally-migrate`.
 * A DATABASE_URL with its own `application_name` renames them: the guard does not see those.
 */
const TALLY_SESSION = { exact: 'votestream-tally', prefix: 'votestream-tally %' }

/**
 * Every running tally holds this advisory lock shared, on a session of its own, for its
 * life (services/tally/presence.ts); a migration that needs the tallies stopped takes it
 * exclusively for its transaction. That sees a tally whatever its sessions are named (a
 * DATABASE_URL with its own application_name), and a tally that starts while such a
 * migration runs waits for it instead of slipping in after the check.
 */
export const TALLY_PRESENCE_LOCK = 727_002

/** Takes this session's share of the tallies' presence lock, unless it holds one already (so a reconnected session takes it again). */
export async function takeTallyPresence(db: Sql): Promise<void> {
  await db`
    select count(pg_advisory_lock_shared(${TALLY_PRESENCE_LOCK}::bigint))
    from (select 1 where not exists (
      select from pg_locks where pid = pg_backend_pid() and locktype = 'advisory' and classid = 0 and objid = ${TALLY_PRESENCE_LOCK} and objsubid = 1
    )) missing`
}

/** Refused: a migration that needs the tallies stopped, while some still count. */
export class TalliesRunningError extends Error {}

export interface MigrationResult {
  applied: string[]
  alreadyApplied: string[]
}

/**
 * Applies the numbered `.sql` files in order, each in its own transaction, recording
 * each in `schema_migrations`. Safe to call from several processes at once and twice.
 * Refuses (TalliesRunningError, nothing applied) when a pending migration needs the
 * tallies stopped and a tally's counting sessions are connected: a rolling upgrade across
 * such a migration stops every tally first (docs/deploying.md).
 */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort()
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
    // Created only where missing: `create table if not exists` needs the right to create in
    // the schema even when the table exists, which the application role has not (0003_roles).
    const [table] = await tx<{ exists: boolean }[]>`select to_regclass('schema_migrations') is not null as exists`
    if (!table?.exists) {
      await tx`create table schema_migrations (
        name text primary key,
        applied_at timestamptz not null default now()
      )`
    }
    const done = new Set((await tx<{ name: string }[]>`select name from schema_migrations`).map((r) => r.name))
    const pending = await Promise.all(
      files.filter((f) => !done.has(f)).map(async (file) => ({ file, text: await readFile(join(dir, file), 'utf8') })),
    )
    const needStopped = pending.filter((m) => WITH_TALLIES_STOPPED.has(m.file) || STOP_THE_TALLIES_MARK.test(m.text)).map((m) => m.file)
    // A database never migrated has no tally of an older release counting into it.
    if (needStopped.length > 0 && done.size > 0) {
      // application_name is visible to every role in pg_stat_activity (the rest is not, nor
      // needed); this database's sessions only (a server holds others).
      // Exclusive until this transaction ends: refused while a tally holds its share, and a
      // tally starting meanwhile waits for the migration to commit.
      const [presence] = await tx<{ free: boolean }[]>`select pg_try_advisory_xact_lock(${TALLY_PRESENCE_LOCK}::bigint) as free`
      const running = await tx<{ applicationName: string; pid: number }[]>`
        select application_name, pid from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and (application_name = ${TALLY_SESSION.exact} or application_name like ${TALLY_SESSION.prefix}
               or pid in (select pid from pg_locks where locktype = 'advisory' and classid = 0 and objid = ${TALLY_PRESENCE_LOCK}
                            and objsubid = 1 and granted))
        order by pid`
      if (running.length === 0 && !presence?.free)
        throw new TalliesRunningError(
          `migration ${needStopped.join(', ')} needs every tally stopped, and the tallies' presence lock is held: stop the tallies, migrate, then start them again (docs/deploying.md, "Upgrading")`,
        )
      if (running.length > 0)
        throw new TalliesRunningError(
          `migration ${needStopped.join(', ')} needs every tally stopped, and ${running.length} tally counting sessions are connected ` +
            `(${running
              .slice(0, 5)
              .map((r) => `'${r.applicationName}' pid ${r.pid}`)
              .join(
                ', ',
              )}${running.length > 5 ? ', …' : ''}): stop the tallies, migrate, then start them again (docs/deploying.md, "Upgrading")`,
        )
    }
    const texts = new Map(pending.map((m) => [m.file, m.text]))
    const result: MigrationResult = { applied: [], alreadyApplied: [] }
    for (const file of files) {
      if (done.has(file)) {
        result.alreadyApplied.push(file)
        continue
      }
      await tx.savepoint(async (sp) => {
        await sp.unsafe(texts.get(file) ?? '')
        await sp`insert into schema_migrations (name) values (${file})`
      })
      result.applied.push(file)
    }
    return result
  })
}
