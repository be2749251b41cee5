/**
 * A token bucket per client address: `perSecond` requests a second on average, bursts up to
 * `burst`. Buckets of clients gone quiet are forgotten, and the number of buckets is
 * bounded, so a flood of addresses cannot grow memory without end.
 */
export function createRateLimiter(options: { perSecond: number; burst: number; maxClients?: number; now?: () => number }) {
  const now = options.now ?? (() => performance.now())
  const maxClients = options.maxClients ?? 100_000
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    /** 0 when the request may go ahead, else the seconds to wait before the next one would. */
    take(client: string): number {
      const t = now()
      const b = buckets.get(client) ?? { tokens: options.burst, at: t }
      b.tokens = Math.min(options.burst, b.tokens + ((t - b.at) / 1000) * options.perSecond)
      b.at = t
      // Re-insert, so the map's order is least recently seen first.
      buckets.delete(client)
      buckets.set(client, b)
      if (buckets.size > maxClients) {
        const oldest = buckets.keys().next().value
        if (oldest !== undefined) buckets.delete(oldest)
      }
      if (b.tokens >= 1) {
        b.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / options.perSecond))
    },
  }
}
export type RateLimiter = ReturnType<typeof createRateLimiter>
