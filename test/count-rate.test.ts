import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { LATENCY_EDGES_MS, latencyBucket } from '../lib/db/counting.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

/**
 * The counting rate and latency Grafana reads (count_rate), written by the counting
 * transaction itself: the ballots per 5-second bucket and partition, and a histogram of
 * their latency whose quantiles latency_quantile reads back.
 */
const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

describe('the counting rate', () => {
  it('counts each ballot once per bucket and partition, with its latency, and gives quantiles from the histogram', async () => {
    const e = await openTestElection(sql)
    const topic = `test-rate-${randomUUID().slice(0, 8)}`
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString()
    // Ten ballots cast about 2 s ago and two about 40 s ago, over two partitions.
    const ballots = [
      ...Array.from({ length: 10 }, (_, i) => ({ b: ballot(e.id, `north-${i}`, 'ada', 'north', { castAt: ago(2_000) }), p: i % 2 })),
      ...Array.from({ length: 2 }, (_, i) => ({ b: ballot(e.id, `south-${i}`, 'alan', 'south', { castAt: ago(40_000) }), p: 0 })),
    ]
    const outcome = await countBatch(sql, {
      groupId: 'test',
      topic,
      messages: ballots.map(({ b, p }, i) => ({ partition: p, offset: String(i), value: Buffer.from(encodeBallot(b)) })),
    })
    expect(outcome.counted).toBe(12)
    const rows = await sql<{ partition: number; ballots: number; latency: number[] }[]>`
      select kafka_partition as partition, ballots::int, latency from count_rate where election_id = ${e.id} order by 1`
    expect(rows.map((r) => [r.partition, r.ballots])).toEqual([
      [0, 7],
      [1, 5],
    ])
    const sum = rows.reduce((h, r) => h.map((x, i) => x + (r.latency[i] ?? 0)), Array<number>(LATENCY_EDGES_MS.length + 1).fill(0))
    expect(sum[latencyBucket(2_000)]).toBe(10)
    expect(sum[latencyBucket(40_000)]).toBe(2)
    // The median lies in the 2 s bucket (1,000–2,500 ms), the 99th percentile in the 40 s one (30,000–60,000 ms).
    const [q] = await sql<{ p50: number; p99: number }[]>`
      select latency_quantile(vec_sum(latency), 0.5) as p50, latency_quantile(vec_sum(latency), 0.99) as p99
      from count_rate where election_id = ${e.id}`
    expect(q?.p50).toBeGreaterThan(1_000)
    expect(q?.p50).toBeLessThanOrEqual(2_500)
    expect(q?.p99).toBeGreaterThan(30_000)
    expect(q?.p99).toBeLessThanOrEqual(60_000)
    const [empty] = await sql<{ q: number | null }[]>`select latency_quantile(array[0,0,0,0,0,0,0,0,0,0,0,0,0], 0.5) as q`
    expect(empty?.q).toBeNull()
  })
})
