import type { Sql } from '../lib/db/sql.ts'

/**
 * What the tally instances' database sessions are doing, sampled from pg_stat_activity every
 * `everyMs` while a step runs: of the samples where a tally session was active, the share
 * spent on CPU (no wait event) and on each wait (a lock on another transaction's row, a
 * lightweight lock, I/O, the client). With several instances, contention shows here first:
 * lock waits grow while the database's CPU per ballot stays flat, or it does not.
 */
export function sampleWaits(sql: Sql, everyMs = 100) {
  const counts = new Map<string, number>()
  let samples = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql<{ wait: string }[]>`
        select coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait
        from pg_stat_activity
        where application_name like 'votestream-tally %' and state = 'active'`.catch(() => [])
      for (const r of rows) {
        counts.set(r.wait, (counts.get(r.wait) ?? 0) + 1)
        samples++
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return async (): Promise<WaitShares> => {
    stopped = true
    await loop
    const shares = [...counts.entries()]
      .map(([wait, n]) => ({ wait, share: samples > 0 ? n / samples : 0 }))
      .sort((a, b) => b.share - a.share)
    return { activeSamples: samples, shares }
  }
}

export interface WaitShares {
  /** Active tally sessions seen over all samples. */
  activeSamples: number
  /** Each wait's share of them, largest first ('CPU': running, no wait event). */
  shares: Array<{ wait: string; share: number }>
}

/** The largest shares, as one line: "CPU 71%, Lock:transactionid 12%, …". */
export function describeWaits(w: WaitShares, top = 4): string {
  if (w.activeSamples === 0) return 'no active tally session sampled'
  return w.shares
    .slice(0, top)
    .map((s) => `${s.wait} ${Math.round(100 * s.share)}%`)
    .join(', ')
}
