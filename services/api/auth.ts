import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import { AppError } from '../../domain/errors.ts'

const bearer = (header: string | undefined) => /^Bearer (\S+)$/i.exec(header ?? '')?.[1]

/** Control routes: a bearer token equal to the configured admin token. */
export function requireAdmin(adminToken: string) {
  const expected = Buffer.from(adminToken)
  return createMiddleware(async (c, next) => {
    const given = bearer(c.req.header('authorization'))
    if (!given) throw new AppError('unauthorized', 'this route needs `Authorization: Bearer <admin token>`')
    if (!isAdminToken(given, expected)) throw new AppError('unauthorized', 'wrong admin token')
    await next()
  })
}

/** In constant time: whether a bearer token is the admin's. */
export function isAdminToken(given: string | undefined, expected: Buffer): boolean {
  if (given === undefined) return false
  const got = Buffer.from(given)
  return got.length === expected.length && timingSafeEqual(got, expected)
}

/** A voter's credential: random, shown once, stored only as an HMAC under the server's secret. */
export function issueVoterToken(): string {
  return `vs_${randomBytes(24).toString('base64url')}`
}

export function hashVoterToken(token: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(token).digest()
}

export { bearer }
