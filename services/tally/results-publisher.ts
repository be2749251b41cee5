import type { Producer } from 'kafkajs'
import { AppError } from '../../domain/errors.ts'
import { nextSnapshotAt } from '../../domain/snapshot-pacing.ts'
import { loadResults } from '../../lib/db/results.ts'
import type { Sql } from '../../lib/db/sql.ts'
import { TOPICS } from '../../lib/local-stack.ts'
import type { Logger } from '../../lib/log.ts'

/**
 * Publishes a results snapshot to the `results` topic for each election whose counts
 * changed, at most once per interval per election (longer for an election whose snapshot
 * is slow to build, see nextSnapshotAt), so a burst of batches yields one fresh snapshot
 * instead of hundreds. Snapshots are state, not events: a lost one is superseded by the
 * next, and each carries a higher version.
 */
export function createResultsPublisher(deps: { sql: Sql; producer: Producer; log: Logger; intervalMs: number; minCellBallots?: number }) {
  const dirty = new Set<string>()
  const notBefore = new Map<string, number>()
  let flushing: Promise<void> | undefined
  const timer = setInterval(() => {
    flushing ??= flush().finally(() => {
      flushing = undefined
    })
  }, deps.intervalMs)

  async function flush(options: { all?: boolean } = {}) {
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
          messages: [{ key: id, value: JSON.stringify(snapshot), headers: { version: String(snapshot.version) } }],
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
    /** Publishes what is pending and stops. */
    async close() {
      clearInterval(timer)
      await flushing
      await flush({ all: true })
    },
  }
}
