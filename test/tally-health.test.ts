import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { TALLY_PRESENCE_LOCK } from '../lib/db/migrate.ts'
import { recordVotesPartitions } from '../lib/db/polls.ts'
import { createKafka } from '../lib/kafka.ts'
import { waitUntil } from '../lib/wait.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'
import { startTally, type TallyProcess } from './processes.ts'

const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'tally-health-test' })
const producer = kafka.producer()
const admin = kafka.admin()
const topic = `health-${randomUUID().slice(0, 8)}`
const group = `health-${randomUUID().slice(0, 8)}`
let tally: TallyProcess

beforeAll(async () => {
  await Promise.all([producer.connect(), admin.connect()])
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })
  tally = startTally({
    name: 'tally-health',
    group,
    env: { TALLY_TOPIC: topic, TALLY_STALL_AFTER_MS: '2000', TALLY_METADATA_MAX_AGE_MS: '1000' },
  })
  await tally.waitHealthy()
})
afterAll(async () => {
  await tally?.stop()
  await Promise.all([producer.disconnect(), admin.disconnect()])
  await sql.end({ timeout: 5 })
})

const counted = async (ballotId: string) => (await sql`select 1 from ballots where ballot_id = ${ballotId}`).length === 1
const health = async () => {
  const res = await fetch(`${tally.url}/healthz`)
  return { status: res.status, body: (await res.json()) as { status: string } }
}

describe("the tally's health", () => {
  it('reports a partition with lag and no progress, and recovers once the database lets it count', async () => {
    const e = await openTestElection(sql)
    const first = ballot(e.id, 'north-0', 'ada', 'north')
    await producer.send({ topic, messages: [{ key: 'north-0', value: encodeBallot(first) }] })
    expect(await waitUntil(() => counted(first.ballotId), 15_000, 100)).toBe(true)
    expect((await health()).status).toBe(200)

    // Hold the partition's stored offset: the tally's next transaction waits on it.
    let release: () => void = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((r) => {
      locked = r
    })
    const holding = sql.begin(async (tx) => {
      await tx`select 1 from consumer_offsets where group_id = ${group} and topic = ${topic} for update`
      locked()
      await held
    })
    await isLocked // the lock is held before the next ballot can reach the tally
    const second = ballot(e.id, 'north-1', 'ada', 'north')
    try {
      await producer.send({ topic, messages: [{ key: 'north-1', value: encodeBallot(second) }] })
      expect(await waitUntil(async () => (await health()).status === 503, 15_000, 250)).toBe(true)
      expect((await health()).body.status).toMatch(/no progress/)
      expect(await counted(second.ballotId)).toBe(false)
    } finally {
      release()
      await holding
    }
    expect(await waitUntil(() => counted(second.ballotId), 15_000, 100)).toBe(true)
    expect(await waitUntil(async () => (await health()).status === 200, 10_000, 250)).toBe(true)
  }, 60_000)

  it('counts from a partition added while polls are open within seconds, and says the election is exposed', async () => {
    const e = await openTestElection(sql)
    // Opened when the topic had one partition (as the workflow's open records it).
    await recordVotesPartitions(sql, e.id, 1)
    const gauge = async () => Number(/^votestream_elections_partitions_added_while_open (\d+)/m.exec(await tally.metrics())?.[1] ?? 'NaN')
    expect(await gauge()).toBe(0)
    await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })
    // A ballot on the new partition: counted once the tally's metadata refresh (1 s here,
    // 30 s by default, kafkajs's 5 minutes before) brings the partition into its assignment.
    const onNew = ballot(e.id, 'north-2', 'ada', 'north')
    await producer.send({ topic, messages: [{ key: 'north-2', partition: 1, value: encodeBallot(onNew) }] })
    expect(await waitUntil(() => counted(onNew.ballotId), 20_000, 100)).toBe(true)
    expect(await waitUntil(async () => (await gauge()) >= 1, 10_000, 250)).toBe(true)
    const log = await readFile(join('test-results', 'tally-health.log'), 'utf8')
    expect(log).toMatch(
      new RegExp(`partitions were added to the topic while these elections' polls are open.*${e.id}|${e.id}.*partitions were added`),
    )
    expect((await health()).status).toBe(200)
  }, 60_000)

  it("holds its share of the tallies' presence lock, which a migration that needs the tallies stopped looks for", async () => {
    const holders = await sql<{ applicationName: string; mode: string }[]>`
      select a.application_name, l.mode from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.classid = 0 and l.objid = ${TALLY_PRESENCE_LOCK} and l.objsubid = 1 and l.granted
        and a.application_name = ${`votestream-tally ${tally.proc.pid} presence`}`
    expect(holders).toEqual([{ applicationName: `votestream-tally ${tally.proc.pid} presence`, mode: 'ShareLock' }])
  })
})
