import * as hdr from 'hdr-histogram-js'
import type { Sql } from '../lib/db/sql.ts'

export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/**
 * Latency of every ballot of an election, from its intended send time (its castAt,
 * stamped by the open-loop generator before sending) to the commit of the transaction
 * that counted it (PostgreSQL's commit timestamp of the row's inserting transaction).
 */
export async function measureLatency(sql: Sql, electionId: string): Promise<LatencySummary> {
  const rows = await sql<{ ms: number }[]>`
    select greatest(0, extract(epoch from pg_xact_commit_timestamp(xmin) - cast_at) * 1000)::float8 as ms
    from ballots where election_id = ${electionId}`
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 })
  for (const r of rows) h.recordValue(Math.max(1, Math.round(r.ms)))
  const summary = {
    count: rows.length,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  }
  h.destroy()
  return summary
}
