import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCountingActivities } from '../activities/counting.ts'
import { storedOffsets } from '../lib/db/counting.ts'
import { createKafka } from '../lib/kafka.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import { LOCAL_ADMIN_TOKEN } from '../services/api/config.ts'
import { openTestElection } from './fixtures/elections.ts'
import { ROOT, testSql } from './helpers.ts'
import { startApi, startTally, type TallyProcess } from './processes.ts'

const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'cast-test' })
const producer = kafka.producer()
const admin = kafka.admin()
let tally: TallyProcess
const PORT = 19_710
const env = { API_CASTS_PER_SECOND: '100000', API_CASTS_BURST: '100000', API_READS_PER_SECOND: '100000', API_READS_BURST: '100000' }

const kafkaPid = () => Number(readFileSync(join(ROOT, '.stack', 'run', 'kafka.pid'), 'utf8').trim())

beforeAll(async () => {
  await Promise.all([producer.connect(), admin.connect()])
  tally = startTally({ name: 'tally-for-casting' })
  await tally.waitHealthy()
})
afterAll(async () => {
  process.kill(kafkaPid(), 'SIGCONT')
  await tally?.stop()
  await Promise.all([producer.disconnect(), admin.disconnect()])
  await sql.end({ timeout: 5 })
})

describe('casting through the API', () => {
  it('counts every 202 exactly once and locks no voter out, through kill -9 of the API while Kafka is paused', async () => {
    const e = await openTestElection(sql, { status: 'draft', regions: { north: 0, south: 0 } })
    // Registration is capped by the registered voters declared per region: room for 60.
    await sql`update regions set registered_voters = 30 where election_id = ${e.id}`
    let api = await startApi({ port: PORT, taskQueue: 'unused', name: 'api-cast-1', env })
    const admin_ = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const reg = await fetch(`${api.url}/elections/${e.id}/voters`, {
      method: 'POST',
      headers: admin_,
      body: JSON.stringify({ voters: Array.from({ length: 60 }, (_, i) => ({ id: `c${i}`, regionId: i % 2 ? 'north' : 'south' })) }),
    })
    expect(reg.status).toBe(201)
    const { voters } = (await reg.json()) as { voters: Array<{ id: string; token: string }> }
    await sql`update elections set status = 'open', opened_at = now() where id = ${e.id}`
    const cast = (url: string, token: string) =>
      fetch(`${url}/elections/${e.id}/ballots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ candidateId: 'ada' }),
        signal: AbortSignal.timeout(5000),
      }).then(
        (r) => r.status,
        () => 0, // no answer: the process died under the request
      )

    // Kafka stops answering; casting goes on, since a 202 needs only PostgreSQL.
    process.kill(kafkaPid(), 'SIGSTOP')
    const first = await Promise.all(voters.slice(0, 20).map((v) => cast(api.url, v.token)))
    expect(first).toEqual(Array(20).fill(202))
    const during = Promise.all(voters.slice(20, 40).map((v) => cast(api.url, v.token)))
    await new Promise((r) => setTimeout(r, 20))
    await api.kill()
    const second = await during
    process.kill(kafkaPid(), 'SIGCONT')

    api = await startApi({ port: PORT, taskQueue: 'unused', name: 'api-cast-2', env })
    // Whoever got no answer tries again: either the first try committed (409, already cast)
    // or it did not (202 now). Nobody is locked out without a ballot.
    const retried = await Promise.all(voters.slice(20, 40).map((v, i) => (second[i] === 202 ? 202 : cast(api.url, v.token))))
    for (const status of retried) expect([202, 409]).toContain(status)
    const third = await Promise.all(voters.slice(40).map((v) => cast(api.url, v.token)))
    expect(third).toEqual(Array(20).fill(202))

    // Close the polls as the workflow does: the outbox is drained before the marks are taken.
    const counting = createCountingActivities({ sql, producer, admin, tallyGroupId: 'tally' } as never)
    const marks = await counting.closePolls(e.id, null)
    const reached = await waitUntil(
      async () => {
        const at = await storedOffsets(sql, 'tally', TOPICS.votes.name)
        return Object.entries(marks).every(([p, high]) => BigInt(at.get(Number(p)) ?? '0') >= BigInt(high))
      },
      60_000,
      200,
    )
    expect(reached).toBe(true)
    const [row] = await sql<{ receipts: number; ballots: number; outbox: number; rejected: number }[]>`
      select (select count(*)::int from cast_receipts where election_id = ${e.id}) as receipts,
             (select count(*)::int from ballots where election_id = ${e.id}) as ballots,
             (select count(*)::int from ballot_outbox where election_id = ${e.id}) as outbox,
             (select count(*)::int from rejected_ballots where election_id = ${e.id}) as rejected`
    const accepted = [...first, ...retried, ...third].filter((s) => s === 202 || s === 409).length
    expect(row).toEqual({ receipts: 60, ballots: 60, outbox: 0, rejected: 0 })
    expect(accepted).toBe(60)
    await api.stop()
  }, 180_000)
})
