import { randomUUID } from 'node:crypto'
import { NativeConnection, Worker } from '@temporalio/worker'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate } from '../lib/db/migrate.ts'
import { createPingActivities } from './fixtures/ping-activities.ts'
import { runBunJson, testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

describe('the local stack, used for real', () => {
  it('applies the migrations (twice is fine) and answers SQL through postgres.js', async () => {
    await migrate(sql)
    const again = await migrate(sql)
    expect(again.applied).toEqual([])
    expect(again.alreadyApplied).toContain('0001_init.sql')
    const [row] = await sql<{ ok: number }[]>`select 1 as ok from information_schema.tables where table_name = 'ballots'`
    expect(row?.ok).toBe(1)
  })

  it('produces and consumes a Kafka message with kafkajs from Bun', async () => {
    const out = await runBunJson<{ runtime: string; sent: string; received: string }>('test/bun/kafka-roundtrip.ts', ['votes'])
    expect(out.runtime).toMatch(/^bun /)
    expect(out.received).toBe(out.sent)
  })

  it('runs a workflow on a Node worker and reads its result with a client from Bun', async () => {
    const taskQueue = `ping-${randomUUID()}`
    const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' })
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: new URL('./fixtures/ping-workflow.ts', import.meta.url).pathname,
      activities: createPingActivities(sql),
    })
    try {
      const out = await worker.runUntil(
        runBunJson<{ runtime: string; result: string }>('test/bun/temporal-client.ts', [taskQueue, 'newcomer']),
      )
      expect(out.runtime).toMatch(/^bun /)
      expect(out.result).toMatch(/^hello newcomer, from a workflow whose activity saw PostgreSQL 1\d/)
    } finally {
      await connection.close()
    }
  })
})
