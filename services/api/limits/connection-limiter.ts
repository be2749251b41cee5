/**
 * Caps long-lived connections (the results stream) in total and per client address, so
 * one client cannot hold every slot and the server cannot be made to hold unbounded ones.
 */
export function createConnectionLimiter(limits: { total: number; perClient: number }) {
  let total = 0
  const perClient = new Map<string, number>()
  return {
    /** A release function, or why the connection is refused. */
    acquire(client: string): { release: () => void } | { refused: 'total' | 'client' } {
      if (total >= limits.total) return { refused: 'total' }
      const mine = perClient.get(client) ?? 0
      if (mine >= limits.perClient) return { refused: 'client' }
      total++
      perClient.set(client, mine + 1)
      let released = false
      return {
        release() {
          if (released) return
          released = true
          total--
          const left = (perClient.get(client) ?? 1) - 1
          if (left <= 0) perClient.delete(client)
          else perClient.set(client, left)
        },
      }
    },
    open: () => total,
  }
}
export type ConnectionLimiter = ReturnType<typeof createConnectionLimiter>
