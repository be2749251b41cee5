import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql } from './sql.ts'

export const MIGRATIONS_DIR = join(import.meta.dirname, '..', '..', 'db', 'migrations')

/** An arbitrary constant: every process that migrates takes this lock, so they queue. */
const MIGRATION_LOCK = 727_001

export interface MigrationResult {
  applied: string[]
  alreadyApplied: string[]
}

/**
 * Applies the numbered `.sql` files in order, each in its own transaction, recording
 * each in `schema_migrations`. Safe to call from several processes at once and twice.
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
    const result: MigrationResult = { applied: [], alreadyApplied: [] }
    for (const file of files) {
      if (done.has(file)) {
        result.alreadyApplied.push(file)
        continue
      }
      await tx.savepoint(async (sp) => {
        await sp.unsafe(await readFile(join(dir, file), 'utf8'))
        await sp`insert into schema_migrations (name) values (${file})`
      })
      result.applied.push(file)
    }
    return result
  })
}
