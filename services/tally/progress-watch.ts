/**
 * Tells whether a partition is stuck: it has messages not yet accounted for (the log's
 * end, as last fetched, lies past what was counted) and nothing was accounted for in it
 * for `stallAfterMs`. A partition with nothing to do is never stalled.
 */
export function createProgressWatch(stallAfterMs: number, now: () => number = Date.now) {
  const state = new Map<number, { high: bigint; accounted: bigint; since: number }>()
  return {
    assigned(partitions: number[]) {
      for (const p of [...state.keys()]) if (!partitions.includes(p)) state.delete(p)
      for (const p of partitions) if (!state.has(p)) state.set(p, { high: -1n, accounted: -1n, since: now() })
    },
    fetched(partition: number, high: bigint) {
      const s = state.get(partition) ?? { high, accounted: -1n, since: now() }
      if (high > s.high) s.high = high
      state.set(partition, s)
    },
    accounted(partition: number, next: bigint) {
      const s = state.get(partition) ?? { high: next, accounted: next, since: now() }
      if (next > s.accounted) {
        s.accounted = next
        s.since = now()
      }
      state.set(partition, s)
    },
    partitions: () => [...state.keys()].sort((a, b) => a - b),
    stalled(): number[] {
      const t = now()
      return [...state.entries()]
        .filter(([, s]) => s.high > s.accounted && s.high >= 0n && t - s.since > stallAfterMs)
        .map(([p]) => p)
        .sort((a, b) => a - b)
    },
  }
}
