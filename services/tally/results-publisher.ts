import type { Producer } from 'kafkajs'
import { AppError } from '../../domain/errors.ts'
import { nextSnapshotAt } from '../../domain/snapshot-pacing.ts'
import { loadResults } from '../../lib/db/results.ts'
import {
  clearResultsDirty,
  holdPublisherLease,
  markResultsDirty,
  readResultsDirty,
  releasePublisherLease,
} from '../../lib/db/results-publishing.ts'
import { releaseCounts } from '../../lib/db/results-release.ts'
import type { Sql } from '../../lib/db/sql.ts'
import { TOPICS } from '../../lib/local-stack.ts'
import type { Logger } from '../../lib/log.ts'

/** How often the holder renews its lease (and a waiting instance tries to take it). */
const RENEW_EVERY_MS = 1_000
/** Sends that fail in a row before the holder gives the lease up for another instance to try. */
const FAILED_SENDS_BEFORE_RELEASE = 3
/** How long an instance that gave the lease up waits before it tries to take it again. */
const BACK_OFF_MS = 10_000

/** How long the lease lasts unrenewed: a frozen publisher is replaced within this. */
export const publisherLeaseMs = (intervalMs: number) => Math.max(5_000, 4 * intervalMs)

/**
 * Releases what is due of each changed election's counts to the public (lib/db/results-release.ts)
 * and publishes a results snapshot to the `results` topic for each election whose counts
 * changed, at most once per interval per election (longer for an election whose snapshot
 * is slow to build, see nextSnapshotAt), so a burst of batches yields one fresh snapshot
 * instead of hundreds. Snapshots are state, not events: a lost one is superseded by the
 * next, and each carries a higher version.
 *
 * One instance publishes for all: the holder of the lease in `results_publisher_lease`.
 * Every instance marks the elections it changed in `results_dirty`; the holder reads the
 * marks and clears each only once its snapshot is sent, so a holder that dies mid-round
 * leaves them for the next. A frozen holder's lease runs out and another instance takes
 * over; a thawed one renews before it sends, and finds the lease gone. A holder that cannot
 * send (Kafka unreachable from it) gives the lease up after a few failures.
 */
export function createResultsPublisher(deps: {
  sql: Sql
  producer: Producer
  log: Logger
  intervalMs: number
  /** This instance's name in the lease and on each snapshot (`publisher` header). */
  instance: string
}) {
  const leaseMs = publisherLeaseMs(deps.intervalMs)
  /** Elections this instance changed and has not marked yet. */
  const changed = new Set<string>()
  const notBefore = new Map<string, number>()
  /** Until when (this process's clock) the lease is known to be ours; 0 when it is not. */
  let leaseUntil = 0
  let lastTry = 0
  let failedSends = 0
  let backOffUntil = 0
  let flushing: Promise<void> | undefined
  const timer = setInterval(() => {
    flushing ??= flush().finally(() => {
      flushing = undefined
    })
  }, deps.intervalMs)

  /** Whether this instance publishes now: renews the lease every second, and at once when it may have run out. */
  async function holdsLease(): Promise<boolean> {
    const now = Date.now()
    if (now < backOffUntil) return false
    if (now - lastTry < RENEW_EVERY_MS && leaseUntil - now > RENEW_EVERY_MS) return true
    if (now - lastTry < RENEW_EVERY_MS && leaseUntil === 0) return false
    lastTry = now
    const held = await holdPublisherLease(deps.sql, deps.instance, leaseMs)
    if (held && leaseUntil === 0) deps.log.info({ instance: deps.instance }, 'this instance publishes the results snapshots now')
    if (!held && leaseUntil !== 0) deps.log.info({ instance: deps.instance }, 'another instance publishes the results snapshots now')
    leaseUntil = held ? now + leaseMs : 0
    return held
  }

  async function giveUp(reason: string) {
    deps.log.warn({ instance: deps.instance, reason }, 'giving the results publisher lease up for another instance to try')
    leaseUntil = 0
    backOffUntil = Date.now() + BACK_OFF_MS
    await releasePublisherLease(deps.sql, deps.instance).catch(() => {})
  }

  async function flush(options: { all?: boolean } = {}) {
    let marks: Array<{ electionId: string; markedAt: string }>
    try {
      if (changed.size > 0) {
        const ids = [...changed]
        await markResultsDirty(deps.sql, ids)
        for (const id of ids) changed.delete(id)
      }
      if (!(await holdsLease())) return
      marks = await readResultsDirty(deps.sql)
    } catch (err) {
      deps.log.warn({ err }, 'results publishing: the lease or the marks failed; will retry')
      return
    }
    const now = Date.now()
    for (const [id, at] of notBefore) if (at <= now) notBefore.delete(id)
    for (const { electionId: id, markedAt } of marks) {
      if (!options.all && (notBefore.get(id) ?? 0) > now) continue
      // A round can outlast the lease: renew (or find it gone) before each send.
      if (!(await holdsLease().catch(() => false))) return
      const started = performance.now()
      try {
        // What the public sees moves in steps of the election's minimum cell (the secret ballot). A
        // release that fails (a lock timeout, a deadlock victim) is tried again next round;
        // the snapshot goes out with what was released before, and it is not a failed send.
        await releaseCounts(deps.sql, id).catch((err) =>
          deps.log.warn({ err, electionId: id }, 'counts not released to the public this round; will retry'),
        )
        const snapshot = await loadResults(deps.sql, id)
        await deps.producer.send({
          topic: TOPICS.results.name,
          acks: -1,
          messages: [
            { key: id, value: JSON.stringify(snapshot), headers: { version: String(snapshot.version), publisher: deps.instance } },
          ],
        })
        failedSends = 0
        await clearResultsDirty(deps.sql, id, markedAt)
      } catch (err) {
        // A message may name an election that does not exist (its rejection is attributed
        // to it): there are no results to publish, and no retry will make some.
        if (err instanceof AppError && err.code === 'not_found') {
          await clearResultsDirty(deps.sql, id, markedAt).catch(() => {})
          continue
        }
        deps.log.warn({ err, electionId: id }, 'results snapshot not published; will retry')
        if (++failedSends >= FAILED_SENDS_BEFORE_RELEASE) {
          failedSends = 0
          await giveUp('snapshots could not be sent')
          return
        }
      } finally {
        notBefore.set(id, nextSnapshotAt(Date.now(), performance.now() - started, deps.intervalMs))
      }
    }
  }

  return {
    changed(ids: Iterable<string>) {
      for (const id of ids) changed.add(id)
    },
    /** Marks what is pending, publishes it if this instance holds the lease, gives the lease up, and stops. */
    async close() {
      clearInterval(timer)
      await flushing
      lastTry = 0
      await flush({ all: true })
      if (leaseUntil !== 0) {
        await releasePublisherLease(deps.sql, deps.instance).catch((err) => deps.log.warn({ err }, 'could not release the publisher lease'))
        leaseUntil = 0
      }
    },
  }
}
