import type { Producer } from 'kafkajs'
import { AppError } from '../../domain/errors.ts'
import { loadResults } from '../../lib/db/results.ts'
import type { Sql } from '../../lib/db/sql.ts'
import { TOPICS } from '../../lib/local-stack.ts'
import type { Logger } from '../../lib/log.ts'

/**
 * Publishes a results snapshot to the `results` topic for each election whose counts
 * changed, at most once per interval per election, so a burst of batches yields one
 * fresh snapshot instead of hundreds. Snapshots are state, not events: a lost one is
 * superseded by the next, and each carries a higher version.
 */
export function createResultsPublisher(deps: { sql: Sql; producer: Producer; log: Logger; intervalMs: number }) {
  const dirty = new Set<string>()
  let flushing: Promise<void> | undefined
  const timer = setInterval(() => {
    flushing ??= flush().finally(() => {
      flushing = undefined
    })
  }, deps.intervalMs)

  async function flush() {
    const ids = [...dirty]
    dirty.clear()
    for (const id of ids) {
      try {
        const snapshot = await loadResults(deps.sql, id)
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
      await flush()
    },
  }
}
