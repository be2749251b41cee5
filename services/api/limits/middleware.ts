import type { MiddlewareHandler } from 'hono'
import { problem } from '../problems.ts'
import { clientAddress } from './client-address.ts'
import type { RateLimiter } from './rate-limiter.ts'

/** Answers 429 with Retry-After once a client has used its share of `limiter`. */
export function rateLimit(limiter: RateLimiter, what: string, trustProxy: boolean): MiddlewareHandler {
  return async (c, next) => {
    const wait = limiter.take(clientAddress(c, trustProxy))
    if (wait > 0) {
      c.header('Retry-After', String(wait))
      return problem(c, 429, 'too_many_requests', `too many ${what} from this address; retry in ${wait} s`)
    }
    await next()
  }
}
