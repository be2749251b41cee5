import type { Producer } from 'kafkajs'
import { AppError } from '../../domain/errors.ts'
import { nextSnapshotAt } from '../../domain/snapshot-pacing.ts'
import { loadResults } from '../../lib/db/results.ts'
import { holdPublisherLease, markResultsDirty, releasePublisherLease, takeResultsDirty } from '../../lib/db/results-publishing.ts'
import type { Sql } from '../../lib/db/sql.ts'
import { TOPICS } from '../../lib/local-stack.ts'
import type { Logger } from '../../lib/log.ts'

/** How long the publisher's lease lasts unrenewed: a frozen publisher is replaced within this. */
export const PUBLISHER_LEASE_MS = 5_000
/** How often the holder renews it (and a waiting instance tries to take it). */
const RENEW_EVERY_MS = 1_000

/**
 * Publishes a results snapshot to the `results` topic for each election whose counts
 * changed, at most once per interval per election (longer for an election whose snapshot
 * is slow to build, see nextSnapshotAt), so a burst of batches yields one fresh snapshot
 * instead of hundreds. Snapshots are state, not events: a lost one is superseded by the
 * next, and each carries a higher version.
 *
 * One instance publishes for all (the holder of the lease in `results_publisher_lease`);
 * the others hand it the elections they changed through `results_dirty`. N instances used
 * to build and send N snapshots of every election. A frozen holder's lease runs out in
 * PUBLISHER_LEASE_MS and another instance takes over; a thawed one finds its lease gone
 * before it publishes again.
 */
export function createResultsPublisher(deps: {
  sql: Sql
  producer: Producer
  log: Logger
  intervalMs: number
  minCellBallots?: number
  /** This instance's name in the lease and on each snapshot (`publisher` header). */
  instance: string
}) {
  const dirty = new Set<string>()
  const notBefore = new Map<string, number>()
  /** Until when (this process's clock) the lease is known to be ours; 0 when it is not. */
  let leaseUntil = 0
  let lastTry = 0
  let flushing: Promise<void> | undefined
  const timer = setInterval(() => {
    flushing ??= flush().finally(() => {
      flushing = undefined
    })
  }, deps.intervalMs)

  /** Whether this instance publishes now: renews the lease every second, and at once when it may have run out. */
  async function holdsLease(): Promise<boolean> {
    const now = Date.now()
    // A lease about to end (or ended while this process was frozen) is renewed before use.
    if (now - lastTry < RENEW_EVERY_MS && now < leaseUntil - RENEW_EVERY_MS) return true
    if (now - lastTry < RENEW_EVERY_MS && leaseUntil === 0) return false
    lastTry = now
    const held = await holdPublisherLease(deps.sql, deps.instance, PUBLISHER_LEASE_MS)
    if (held && leaseUntil === 0) deps.log.info({ instance: deps.instance }, 'this instance publishes the results snapshots now')
    if (!held && leaseUntil !== 0) deps.log.info({ instance: deps.instance }, 'another instance publishes the results snapshots now')
    leaseUntil = held ? now + PUBLISHER_LEASE_MS : 0
    return held
  }

  async function flush(options: { all?: boolean } = {}) {
    try {
      if (!(await holdsLease())) {
        // Hand the changes to the publisher instead of building snapshots of our own.
        if (dirty.size > 0) {
          const ids = [...dirty]
          await markResultsDirty(deps.sql, ids)
          for (const id of ids) dirty.delete(id)
        }
        return
      }
      for (const id of await takeResultsDirty(deps.sql)) dirty.add(id)
    } catch (err) {
      deps.log.warn({ err }, 'results publishing: the lease or the hand-over failed; will retry')
      return
    }
    const now = Date.now()
    const ids = [...dirty].filter((id) => options.all || (notBefore.get(id) ?? 0) <= now)
    for (const id of ids) dirty.delete(id)
    for (const [id, at] of notBefore) if (at <= now && !dirty.has(id)) notBefore.delete(id)
    for (const id of ids) {
      const started = performance.now()
      try {
        const snapshot = await loadResults(deps.sql, id, { minCellBallots: deps.minCellBallots })
        await deps.producer.send({
          topic: TOPICS.results.name,
          acks: -1,
          messages: [
            { key: id, value: JSON.stringify(snapshot), headers: { version: String(snapshot.version), publisher: deps.instance } },
          ],
        })
      } catch (err) {
        // A message may name an election that does not exist (its rejection is attributed
        // to it): there are no results to publish, and no retry will make some.
        if (err instanceof AppError && err.code === 'not_found') continue
        dirty.add(id)
        deps.log.warn({ err, electionId: id }, 'results snapshot not published; will retry')
      } finally {
        notBefore.set(id, nextSnapshotAt(Date.now(), performance.now() - started, deps.intervalMs))
      }
    }
  }

  return {
    changed(ids: Iterable<string>) {
      for (const id of ids) dirty.add(id)
    },
    /** Whether this instance held the lease at its last look (for tests and logs). */
    publishing: () => leaseUntil > Date.now(),
    /** Publishes (or hands over) what is pending, gives the lease up, and stops. */
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
