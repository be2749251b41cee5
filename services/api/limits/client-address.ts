import type { Context } from 'hono'

/** What Bun passes as the second argument of fetch: the server, which knows each request's peer. */
interface PeerAware {
  requestIP?: (request: Request) => { address: string } | null
}

/**
 * The address limits are counted against: the socket's peer, or with a trusted proxy the
 * last X-Forwarded-For entry (the one the proxy itself added). In-process requests (tests
 * calling app.request) have no socket and share one key.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').pop()?.trim()
    if (forwarded) return forwarded
  }
  const server = c.env as PeerAware | undefined
  return server?.requestIP?.(c.req.raw)?.address ?? 'in-process'
}
