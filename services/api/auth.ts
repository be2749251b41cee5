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
    const got = Buffer.from(given)
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new AppError('unauthorized', 'wrong admin token')
    await next()
  })
}

/** A voter's credential: random, shown once, stored only as an HMAC under the server's secret. */
export function issueVoterToken(): string {
  return `vs_${randomBytes(24).toString('base64url')}`
}

export function hashVoterToken(token: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(token).digest()
}

export { bearer }
