import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NativeConnection, Worker } from '@temporalio/worker'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate, TalliesRunningError, takeTallyPresence } from '../lib/db/migrate.ts'
import { createSql } from '../lib/db/sql.ts'
import { LOCAL_DATABASE_URL } from '../lib/local-stack.ts'
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

  it('refuses a migration that needs the tallies stopped while a tally counts, and applies it once none does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'votestream-migrations-'))
    const file = `9990_needs_stopped_${randomUUID().slice(0, 8)}.sql`
    await writeFile(join(dir, file), '-- votestream: stop the tallies\nselect 1;\n')
    // A tally's counting session, as services/tally/main.ts names them, and one of a release
    // before e887a82 (no pid in the name).
    const tally = createSql(process.env.DATABASE_URL ?? LOCAL_DATABASE_URL, { max: 1, applicationName: 'votestream-tally 4242' })
    const older = createSql(process.env.DATABASE_URL ?? LOCAL_DATABASE_URL, { max: 1, applicationName: 'votestream-tally' })
    try {
      await tally`select 1`
      await older`select 1`
      const refused = await migrate(sql, dir).then(
        () => null,
        (err: unknown) => err,
      )
      expect(refused).toBeInstanceOf(TalliesRunningError)
      expect(String(refused)).toMatch(
        new RegExp(`migration ${file} needs every tally stopped, and \\d+ tally counting sessions are connected`),
      )
      expect(String(refused)).toContain(`'votestream-tally 4242' pid`)
      expect(String(refused)).toContain(`'votestream-tally' pid`)
      const [recorded] = await sql<{ n: number }[]>`select count(*)::int as n from schema_migrations where name = ${file}`
      expect(recorded?.n).toBe(0)
      await tally.end({ timeout: 5 })
      expect(await migrate(sql, dir).catch((err: unknown) => String(err))).toMatch(
        /1 tally counting sessions are connected \('votestream-tally' pid/,
      )
      await older.end({ timeout: 5 })
      // A tally whose sessions a DATABASE_URL renamed: seen by the presence lock it holds.
      const renamed = createSql(process.env.DATABASE_URL ?? LOCAL_DATABASE_URL, { max: 1, applicationName: 'renamed-by-url' })
      try {
        await takeTallyPresence(renamed)
        expect(await migrate(sql, dir).catch((err: unknown) => String(err))).toMatch(
          /1 tally counting sessions are connected \('renamed-by-url' pid/,
        )
      } finally {
        await renamed.end({ timeout: 5 })
      }
      expect((await migrate(sql, dir)).applied).toEqual([file])
    } finally {
      await tally.end({ timeout: 5 })
      await older.end({ timeout: 5 })
      await sql`delete from schema_migrations where name = ${file}`
      await rm(dir, { recursive: true, force: true })
    }
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
