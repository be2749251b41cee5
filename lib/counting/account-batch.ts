import { safeText } from '../../domain/ballot.ts'
import { CountLayoutError } from '../../domain/count-vector.ts'
import type { Sql } from '../db/sql.ts'
import {
  type BatchInput,
  type BatchOutcome,
  type ConsumedMessage,
  countBatch,
  type Rejection,
  rejectUnprocessable,
  TransientCountingError,
} from './count-batch.ts'

/**
 * PostgreSQL error classes that a retry can outlast: the connection (08), a transaction
 * that lost a race (40), resources (53), an operator or a restart (57), the system (58),
 * a lock not available (55P03). Anything else a batch fails with is about its contents.
 */
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58|55P03)/
const TRANSIENT_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
])

/**
 * PostgreSQL error classes that say the database's state is at fault, not a message:
 * privileges or a missing object after a migration (42, e.g. 42501 a revoked grant),
 * an internal error or corruption (XX, e.g. XX001 a corrupt page), a feature not supported
 * (0A), a transaction state (25), a count past its column's range (22003: a vector element
 * or a total over 2^31 - 1; what a ballot carries is validated before any statement, so the
 * overflow is the stored count's, and splitting the batch would set valid ballots aside as
 * unprocessable). Counting stops on the batch and retries it until an operator has fixed
 * the cause; no ballot is rejected for it.
 */
const DATABASE_FAULT_SQLSTATE = /^(42|XX|0A|25|22003)/
/** A statement cancelled by a timeout (a role's statement_timeout): a smaller batch may pass. */
const STATEMENT_TIMEOUT = '57014'

/** The database's state is at fault (see DATABASE_FAULT_SQLSTATE). */
export function isDatabaseFault(err: unknown): boolean {
  // A definition whose stored count layout does not fit it: the database's state again.
  if (err instanceof CountLayoutError) return true
  return sqlState(err)?.match(DATABASE_FAULT_SQLSTATE) != null
}

function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const e = err as { name?: string; code?: unknown; cause?: unknown }
  if (e.name === 'PostgresError' && typeof e.code === 'string') return e.code
  return e.cause !== undefined ? sqlState(e.cause) : undefined
}

/** True when retrying the same batch later may succeed: the fault is not in the messages. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientCountingError) return true
  if (typeof err !== 'object' || err === null) return false
  const e = err as { name?: string; code?: unknown; cause?: unknown }
  if (e.name === 'PostgresError') return typeof e.code === 'string' && TRANSIENT_SQLSTATE.test(e.code)
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true
  // Publishing rejections goes through kafkajs: a broker away is a bad day, not a bad message.
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) return true
  return e.cause !== undefined && isTransient(e.cause)
}

export interface AccountingOptions {
  /**
   * Called before each retry of a transient failure or a database fault (`isDatabaseFault`
   * tells which); throw to give up (e.g. when stopping).
   */
  beforeRetry: (err: unknown, attempt: number) => Promise<void>
  /** Called when a message is set aside as unprocessable. */
  onUnprocessable?: (message: ConsumedMessage, err: unknown) => void
  beforeCommit?: (rejections: Rejection[]) => Promise<void>
}

/**
 * Accounts for a batch whatever it holds, sorting failures by whose fault they are:
 * - transient (a connection, a restart) and the database's state (a revoked grant, a
 *   corrupt index): the same batch is retried until it passes; nothing is rejected for it;
 * - a statement timeout: the batch is halved, down to single messages, which are retried;
 * - anything else is about the messages: the batch is split in halves until the message
 *   that causes it is alone, and that one is recorded as `unprocessable` with the
 *   database's reason, so the rest are counted and the partition moves on. A batch of n
 *   messages with one poison message costs about 2·log2(n) extra transactions.
 */
export async function accountBatch(sql: Sql, input: BatchInput, options: AccountingOptions): Promise<BatchOutcome[]> {
  if (input.messages.length === 0) return []
  for (let attempt = 1; ; attempt++) {
    try {
      return [await countBatch(sql, input, options.beforeCommit)]
    } catch (err) {
      const timedOut = sqlState(err) === STATEMENT_TIMEOUT
      if (timedOut ? input.messages.length === 1 : isDatabaseFault(err) || isTransient(err)) {
        await options.beforeRetry(err, attempt)
        continue
      }
      if (input.messages.length === 1) return [await setAside(sql, input, err, options)]
      const half = Math.ceil(input.messages.length / 2)
      const left = await accountBatch(sql, { ...input, messages: input.messages.slice(0, half) }, options)
      const right = await accountBatch(sql, { ...input, messages: input.messages.slice(half) }, options)
      return [...left, ...right]
    }
  }
}

async function setAside(sql: Sql, input: BatchInput, cause: unknown, options: AccountingOptions): Promise<BatchOutcome> {
  const message = input.messages[0] as ConsumedMessage
  options.onUnprocessable?.(message, cause)
  const detail = safeText(`the database refused it: ${describe(cause)}`, 500)
  for (let attempt = 1; ; attempt++) {
    try {
      return await rejectUnprocessable(sql, { ...input, messages: [message] }, detail, options.beforeCommit)
    } catch (err) {
      // Recording a rejection writes nothing taken from the message but checked ids, its
      // bytes (bytea takes any) and a cleaned reason: what fails here is the database.
      await options.beforeRetry(err, attempt)
    }
  }
}

function describe(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err)
  const e = err as { message?: string; code?: string; name?: string }
  return [e.code, e.message ?? e.name].filter(Boolean).join(' ')
}
