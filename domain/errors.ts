/**
 * The one error type for expected failures: a code a program can act on, a message a
 * person can read. Anything else reaching a handler is a bug and is logged as one.
 */
export type ErrorCode = 'invalid_input' | 'not_found' | 'conflict' | 'unauthorized' | 'forbidden' | 'payload_too_large' | 'unavailable'

export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
