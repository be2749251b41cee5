import type { Producer } from 'kafkajs'
import { sendBallots } from './ballot-producer.ts'
import { deleteOutboxRows, lockPendingOutbox } from './db/outbox.ts'
import { type Db, inTransaction } from './db/sql.ts'

/**
 * Publishes pending outbox rows to `votes` and deletes them, in one transaction per call:
 * the rows stay locked while they are sent, and are deleted only once the broker has
 * them. `skipLocked` lets several relays share the outbox; without it (closing the
 * polls) the call waits for a relay in flight, so nothing accepted is left behind.
 * Given a transaction, it runs inside it; given the pool, in a transaction of its own.
 * Returns how many were published.
 */
export async function publishOutbox(
  db: Db,
  producer: Producer,
  options: { electionId?: string; limit?: number; skipLocked: boolean },
): Promise<number> {
  return inTransaction(db, async (tx) => {
    const rows = await lockPendingOutbox(tx, options)
    if (rows.length === 0) return 0
    await sendBallots(
      producer,
      rows.map((r) => ({ key: r.voterId, electionId: r.electionId, raw: r.payload })),
    )
    await deleteOutboxRows(
      tx,
      rows.map((r) => r.id),
    )
    return rows.length
  })
}
