import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AppError, type ErrorCode } from '../../domain/errors.ts'
import type { Logger } from '../../lib/log.ts'

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unavailable: 503,
}

/**
 * The database could not answer now, and a retry soon may: a session limit reached (a lock
 * waited for too long, a statement or an open transaction run too long), a standby cancelling
 * a read that replay needed to pass, a server shutting down or starting, a connection lost or
 * refused (PostgreSQL's SQLSTATEs; postgres.js's and the socket's codes). Busy, not broken: 503.
 */
const DATABASE_GAVE_UP: Record<string, string> = {
  '55P03': 'a lock was held too long',
  '57014': 'a statement ran too long',
  '25P03': 'a transaction stayed idle too long',
  '40001': 'a standby cancelled a read that replication needed to pass',
  '40P01': 'a read was cancelled to break a deadlock',
  '57P01': 'the server is shutting down',
  '57P02': 'the server is restarting',
  '57P03': 'the server is starting up',
  '53300': 'too many connections',
  ECONNREFUSED: 'the database refused the connection',
  ECONNRESET: 'the connection to the database was reset',
  CONNECTION_CLOSED: 'the connection to the database closed',
  CONNECTION_ENDED: 'the connection to the database ended',
  CONNECTION_DESTROYED: 'the connection to the database was destroyed',
  CONNECT_TIMEOUT: 'the database did not answer in time',
}

/** Every error becomes one body: RFC 9457 problem details, with the request id, never a stack. */
export function problem(c: Context, status: ContentfulStatusCode, title: string, detail: string, extra: Record<string, unknown> = {}) {
  return c.body(
    JSON.stringify({ type: 'about:blank', title, status, detail, instance: c.req.path, requestId: c.get('requestId'), ...extra }),
    status,
    { 'content-type': 'application/problem+json' },
  )
}

export function onError(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof AppError) {
      return problem(c, STATUS[err.code], err.code, err.message, err.details ? { errors: err.details } : {})
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode
      const title = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'http_error'
      return problem(c, status, title, err.message || title)
    }
    if (err instanceof SyntaxError) return problem(c, 400, 'invalid_input', 'the body is not valid JSON')
    // The database gave up on the request (API_LOCK_TIMEOUT_MS and the others): busy, not broken.
    const busy = DATABASE_GAVE_UP[(err as { code?: string }).code ?? '']
    if (busy) {
      log.warn({ err, requestId: c.get('requestId'), path: c.req.path }, `database ${busy}`)
      c.header('retry-after', '1')
      return problem(c, 503, 'unavailable', `the database is busy (${busy}); try again`)
    }
    log.error({ err, requestId: c.get('requestId'), path: c.req.path }, 'unexpected error')
    return problem(c, 500, 'internal_error', 'something went wrong on our side; quote the request id when reporting it')
  }
}
