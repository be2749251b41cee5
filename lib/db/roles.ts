import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import type { Sql } from './sql.ts'

/**
 * The roles the migrations create, NOLOGIN and without a password: the tally and worker's
 * and Grafana's (db/migrations/0003_roles.sql), and the API's (0032_api_role.sql).
 */
export const APP_ROLE = 'votestream_app'
export const GRAFANA_ROLE = 'votestream_grafana'
export const API_ROLE = 'votestream_api'
/** The hot standby's (docker-compose.standby.yml): created by the migrate service, not by a migration — a deployment's choice, and only a superuser may grant REPLICATION. */
export const REPLICATION_ROLE = 'votestream_replicator'

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (what psql's \password
 * sends): the server never sees the password itself, so no log or statement holds it.
 * Printable ASCII only, where SASLprep changes nothing.
 */
export function scramSha256Verifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('a role password must be printable ASCII without spaces')
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest('base64')
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64')
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`
}

/** Lets `role` log in with `password` (set again at every start, so changing it in .env is enough). */
export async function loginRole(sql: Sql, role: string, password: string): Promise<void> {
  const [row] = await sql<{ statement: string }[]>`
    select format('alter role %I with login password %L', ${role}::text, ${scramSha256Verifier(password)}::text) as statement`
  if (!row) throw new Error('format() returned nothing')
  await sql.unsafe(row.statement)
}

/** Creates the standby's replication role if missing, and lets it log in with `password` (set again at every start). */
export async function replicationRole(sql: Sql, password: string): Promise<void> {
  const [row] = await sql<{ statement: string }[]>`
    select format('create role %I with replication', ${REPLICATION_ROLE}::text) as statement
    where not exists (select from pg_roles where rolname = ${REPLICATION_ROLE})`
  if (row) await sql.unsafe(row.statement)
  await loginRole(sql, REPLICATION_ROLE, password)
}
