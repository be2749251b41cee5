import type { Producer } from 'kafkajs'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'
import { publishOutbox } from '../../lib/outbox.ts'

export interface OutboxRelay {
  /** A ballot was just accepted: publish now rather than at the next tick. */
  kick(): void
  /** Publishes what is pending, then stops. */
  close(): Promise<void>
}

/**
 * Moves accepted ballots from the outbox to `votes`. Runs in every API instance (rows
 * are claimed with SKIP LOCKED, so instances share the work); a failure leaves the rows
 * for the next tick, and the worker drains whatever is left when the polls close.
 */
export function createOutboxRelay(deps: { sql: Sql; producer: Producer; log: Logger; intervalMs?: number }): OutboxRelay {
  let running: Promise<void> | undefined
  let again = false
  let closed = false

  async function drain() {
    for (;;) {
      const published = await publishOutbox(deps.sql, deps.producer, { skipLocked: true, limit: 1000 })
      if (published < 1000) return
    }
  }

  function run() {
    if (closed && running) return
    if (running) {
      again = true
      return
    }
    running = drain()
      .catch((err) => deps.log.warn({ err }, 'outbox not published yet; will retry'))
      .finally(() => {
        running = undefined
        if (again && !closed) {
          again = false
          run()
        }
      })
  }

  const timer = setInterval(run, deps.intervalMs ?? 200)
  return {
    kick: run,
    async close() {
      closed = true
      clearInterval(timer)
      await running
      await drain().catch((err) => deps.log.warn({ err }, 'outbox left for the next start or the close of the polls'))
    },
  }
}
