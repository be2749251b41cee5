import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { sendBallots } from '../lib/ballot-producer.ts'
import { accountBatch, isDatabaseFault } from '../lib/counting/account-batch.ts'
import { createSql } from '../lib/db/sql.ts'
import { createKafka } from '../lib/kafka.ts'
import { waitUntil } from '../lib/wait.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * Faults sorted by whose fault they are (issue 23): the database's state (a revoked grant,
 * a corrupt index) stops counting loudly and rejects no ballot; a statement timeout makes
 * batches smaller; only what is about a message is set aside (unprocessable.test.ts).
 *
 * The grant is revoked for real; corruption is played by a trigger that raises its
 * SQLSTATE (XX001) for this test's election only, so the rest of the database is untouched.
 */
const sql = testSql()
let tally: TallyProcess | undefined
let producer: Producer
beforeAll(async () => {
  producer = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'db-fault' }).producer()
  await producer.connect()
})
afterAll(async () => {
  await tally?.stop()
  await producer?.disconnect()
  await sql.end({ timeout: 5 })
})

async function withTrigger<T>(electionId: string, body: string, run: (drop: () => Promise<void>) => Promise<T>): Promise<T> {
  const name = `fault_${electionId.replaceAll('-', '_')}`
  await sql.unsafe(`
    create function ${name}() returns trigger language plpgsql as $$
    begin
      if new.election_id = '${electionId}' then ${body} end if;
      return new;
    end $$;
    create trigger ${name} before insert on ballots for each row execute function ${name}();`)
  let dropped = false
  const drop = async () => {
    if (dropped) return
    dropped = true
    await sql.unsafe(`drop trigger ${name} on ballots; drop function ${name}();`)
  }
  try {
    return await run(drop)
  } finally {
    await drop()
  }
}

const messagesFor = (electionId: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    partition: 0,
    offset: String(i),
    value: encodeBallot(ballot(electionId, `north-${i}`, 'ada', 'north')),
  }))

describe('a fault of the database, not of a message', () => {
  it('(a revoked grant) is retried until the grant is back, and no ballot is rejected for it', async () => {
    const e = await openTestElection(sql)
    const topic = `fault-${e.id}`
    const seen: string[] = []
    // A real revoke, of the application role's right to insert ballots, counting as that
    // role as the services do in a deployment (0003_roles.sql); the stack's own user is a
    // superuser, whom no revoke would stop.
    const app = createSql(process.env.DATABASE_URL ?? '', { max: 2, applicationName: 'fault-test', settings: { role: 'votestream_app' } })
    await sql`revoke insert on ballots from votestream_app`
    let granted = false
    const grant = async () => {
      if (!granted) await sql`grant insert on ballots to votestream_app`
      granted = true
    }
    const outcomes = await accountBatch(
      app,
      { groupId: 'fault', topic, messages: messagesFor(e.id, 16) },
      {
        beforeRetry: async (err, attempt) => {
          seen.push(`${isDatabaseFault(err)}:${(err as { code?: string }).code}`)
          if (attempt === 3) await grant()
        },
        onUnprocessable: () => {
          throw new Error('a database fault must not set a message aside')
        },
      },
    ).finally(async () => {
      await grant()
      await app.end({ timeout: 5 })
    })
    expect(seen).toEqual(['true:42501', 'true:42501', 'true:42501'])
    expect(outcomes.reduce((n, o) => n + o.counted, 0)).toBe(16)
    const [rejected] = await sql<{ n: number }[]>`select count(*)::int as n from rejected_ballots where topic = ${topic}`
    expect(rejected?.n).toBe(0)
  })

  it('on a statement timeout, counts in smaller batches instead of setting messages aside', async () => {
    const e = await openTestElection(sql)
    const topic = `timeout-${e.id}`
    // 30 ms a ballot against 200 ms a statement: 16 or 8 ballots time out, 4 pass.
    const slow = createSql(process.env.DATABASE_URL ?? '', { max: 2, applicationName: 'fault-test', settings: { statement_timeout: 200 } })
    try {
      await slow`select 1`
      const outcomes = await withTrigger(e.id, 'perform pg_sleep(0.03);', async () => {
        const timeouts: string[] = []
        const out = await accountBatch(
          slow,
          { groupId: 'fault', topic, messages: messagesFor(e.id, 16) },
          {
            beforeRetry: async (err) => {
              timeouts.push(String((err as { code?: string }).code))
            },
            onUnprocessable: () => {
              throw new Error('a timeout must not set a message aside')
            },
          },
        )
        return { out, timeouts }
      })
      expect(outcomes.out.reduce((n, o) => n + o.counted, 0)).toBe(16)
      expect(outcomes.out.length).toBeGreaterThanOrEqual(4)
      expect(outcomes.timeouts).toEqual([])
      const [rejected] = await sql<{ n: number }[]>`select count(*)::int as n from rejected_ballots where topic = ${topic}`
      expect(rejected?.n).toBe(0)
    } finally {
      await slow.end({ timeout: 5 })
    }
  })

  it('makes the tally unhealthy, naming the error, and counts every ballot once fixed', async () => {
    tally = startTally({ name: 'tally-for-db-fault' })
    await tally.waitHealthy()
    const e = await openTestElection(sql)
    await withTrigger(e.id, "raise exception 'could not read block 7 in file base/1/2' using errcode = 'XX001';", async (drop) => {
      await sendBallots(
        producer,
        e.voters.slice(0, 20).map((v) => ({ key: v.id, electionId: e.id, ballot: ballot(e.id, v.id, 'ada', v.regionId) })),
      )
      const unhealthy = await waitUntil(async () => {
        const res = await fetch(`${tally?.url}/healthz`)
        return res.status === 503 && /counting stopped by the database: XX001/.test(await res.text())
      }, 30_000)
      expect(unhealthy).toBe(true)
      expect(await tally?.metrics()).toMatch(/^votestream_database_fault 1$/m)
      await drop()
      const healthy = await waitUntil(async () => (await fetch(`${tally?.url}/healthz`)).ok, 30_000)
      expect(healthy).toBe(true)
    })
    const counted = await waitUntil(async () => {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ballots where election_id = ${e.id}`
      return row?.n === 20
    }, 30_000)
    expect(counted).toBe(true)
    const [rejected] = await sql<{ n: number }[]>`select count(*)::int as n from rejected_ballots where election_id = ${e.id}`
    expect(rejected?.n).toBe(0)
  }, 120_000)
})
