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

/** PostgreSQL's codes for a session limit reached: a lock waited for too long, a statement or an open transaction run too long. */
const DATABASE_GAVE_UP: Record<string, string> = {
  '55P03': 'a lock was held too long',
  '57014': 'a statement ran too long',
  '25P03': 'a transaction stayed idle too long',
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
