import type { Db } from './sql.ts'

/**
 * A hot standby's plumbing on the primary (stack/postgres-standby.ts): its replication slot
 * and PostgreSQL's low-level base backup, which must be started and stopped on one session.
 */

/** Whether the slot exists and a standby is streaming through it now. */
export async function slotInUse(db: Db, slot: string): Promise<boolean> {
  const [row] = await db`select 1 from pg_replication_slots where slot_name = ${slot} and active`
  return row !== undefined
}

/** Drops the slot if it exists and no standby streams through it. */
export async function dropIdleSlot(db: Db, slot: string): Promise<void> {
  await db`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${slot} and not active`
}

/** A physical slot that keeps WAL from now on (reserved at once, before the backup starts). */
export async function createReservedSlot(db: Db, slot: string): Promise<void> {
  await db`select pg_create_physical_replication_slot(${slot}, true)`
}

/** Starts a non-exclusive base backup with an immediate checkpoint. */
export async function startBaseBackup(db: Db, label: string): Promise<void> {
  await db`select pg_backup_start(${label}, true)`
}

/** Ends it: the backup_label (and tablespace_map) the copy must be given. */
export async function stopBaseBackup(db: Db): Promise<{ labelfile: string; spcmapfile: string | null }> {
  const [stop] = await db<{ labelfile: string; spcmapfile: string | null }[]>`select labelfile, spcmapfile from pg_backup_stop(false)`
  if (!stop) throw new Error('pg_backup_stop returned nothing')
  return stop
}

/** Whether the server is a standby (in recovery). */
export async function inRecovery(db: Db): Promise<boolean> {
  const [row] = await db<{ standby: boolean }[]>`select pg_is_in_recovery() as standby`
  return row?.standby === true
}

/** The primary's current WAL position (pg_lsn as text). */
export async function currentWalLsn(db: Db): Promise<string> {
  const [row] = await db<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`
  return row?.lsn ?? '0/0'
}

/** Whether a standby has replayed the WAL up to `lsn` (a primary, not in recovery, has). */
export async function replayedUpTo(db: Db, lsn: string): Promise<boolean> {
  const [row] = await db<{ done: boolean }[]>`
    select case when pg_is_in_recovery() then coalesce(pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn, false) else true end as done`
  return row?.done === true
}
