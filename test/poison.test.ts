import { randomUUID } from 'node:crypto'
import type { IHeaders } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { createKafka } from '../lib/kafka.ts'
import { accountBatch } from '../services/tally/account-batch.ts'
import { waitUntil } from '../stack/proc.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * Hostile input against the real tally process, as `kcat` would send it: for each class of
 * bad message, a valid ballot sent right behind it on the same partition is counted within
 * seconds, the tally stays healthy, the bad message has its rejection with a reason, and
 * the ledger balances.
 */
const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'poison-test' })
const producer = kafka.producer()
const admin = kafka.admin()
const topic = `poison-${randomUUID().slice(0, 8)}`
const group = `poison-${randomUUID().slice(0, 8)}`
let tally: TallyProcess
let electionId = ''
let nextVoter = 0
let upper: ReturnType<typeof ballot>

beforeAll(async () => {
  await Promise.all([producer.connect(), admin.connect()])
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(2 * 1024 * 1024) }] },
    ],
    waitForLeaders: true,
  })
  electionId = (await openTestElection(sql, { regions: { north: 200, south: 10 } })).id
  upper = valid()
  tally = startTally({ name: 'tally-poison', group, env: { TALLY_TOPIC: topic } })
  await tally.waitHealthy()
})
afterAll(async () => {
  await tally?.stop()
  await Promise.all([producer.disconnect(), admin.disconnect()])
  await sql.end({ timeout: 5 })
})

const valid = () => ({ ...ballot(electionId, `north-${nextVoter++}`, 'ada', 'north') })

const CLASSES: Array<{ name: string; value: () => Buffer | null; headers?: IHeaders; reason: string }> = [
  { name: 'castAt in year 0', value: () => encodeBallot({ ...valid(), castAt: '0000-01-01T00:00:00Z' }), reason: 'invalid_schema' },
  {
    name: 'castAt that is year 0 in UTC',
    value: () => encodeBallot({ ...valid(), castAt: '0001-01-01T00:30:00+01:00' }),
    reason: 'invalid_schema',
  },
  {
    name: 'castAt ten years ahead',
    value: () => encodeBallot({ ...valid(), castAt: new Date(Date.now() + 3.2e11).toISOString() }),
    reason: 'cast_in_future',
  },
  {
    name: 'castAt before the opening',
    value: () => encodeBallot({ ...valid(), castAt: '2001-01-01T00:00:00.000Z' }),
    reason: 'cast_before_open',
  },
  {
    name: 'a NUL in the salvaged election id and in the header',
    value: () => Buffer.from(`{"v":1,"electionId":"${electionId}\\u0000"}`),
    headers: { 'election-id': `${electionId}\u0000` },
    reason: 'invalid_schema',
  },
  {
    name: 'control characters and invalid UTF-8',
    value: () => Buffer.from([0x7b, 0x22, 0x00, 0xff, 0xfe, 0x22, 0x3a, 0x01, 0x7d]),
    reason: 'malformed',
  },
  { name: 'a lone surrogate', value: () => Buffer.from(JSON.stringify({ ...valid(), voterId: '\ud800' })), reason: 'invalid_schema' },
  { name: 'an id of 70 characters', value: () => encodeBallot({ ...valid(), candidateId: 'c'.repeat(70) }), reason: 'invalid_schema' },
  { name: 'a null message (tombstone)', value: () => null, reason: 'malformed' },
  { name: 'an empty message', value: () => Buffer.alloc(0), reason: 'malformed' },
  { name: 'nesting 100,000 deep', value: () => Buffer.from('['.repeat(100_000)), reason: 'malformed' },
  {
    name: 'numbers where strings go',
    // The bytes a producer wrote: a number that JSON.parse rounds to 1 where a version goes.
    value: () => Buffer.from(JSON.stringify({ ...valid(), voterId: 1e308, v: 2 }).replace('"v":2', '"v":1.0000000000000001')),
    reason: 'invalid_schema',
  },
  { name: '__proto__ keys', value: () => Buffer.from(`{"__proto__":{"v":1},"v":1}`), reason: 'invalid_schema' },
  {
    name: 'a 900 KB message',
    value: () => Buffer.from(JSON.stringify({ ...valid(), junk: 'x'.repeat(900_000) })),
    reason: 'invalid_schema',
  },
  { name: 'a 100 KB header', value: () => Buffer.from('{}'), headers: { 'election-id': 'h'.repeat(100_000) }, reason: 'invalid_schema' },
  {
    name: 'an upper-case ballot id, re-sent',
    value: () => Buffer.from(JSON.stringify({ ...upper, ballotId: upper.ballotId.toUpperCase() })),
    reason: 'duplicate',
  },
]

async function positionOf(partition: number, offset: string) {
  const [row] = await sql<{ kind: string; reason: string | null }[]>`
    select 'rejected' as kind, reason from rejected_ballots where topic = ${topic} and kafka_partition = ${partition} and kafka_offset = ${offset}
    union all select 'duplicate', null from duplicate_ballots where topic = ${topic} and kafka_partition = ${partition} and kafka_offset = ${offset}
    union all select 'counted', null from ballots where kafka_topic = ${topic} and kafka_partition = ${partition} and kafka_offset = ${offset}`
  return row
}

describe('hostile input against the real tally', () => {
  it.each(CLASSES)('$name: recorded with its reason, and the ballot behind it is counted at once', async ({ value, headers, reason }) => {
    if (reason === 'duplicate') await producer.send({ topic, messages: [{ partition: 1, key: 'u', value: encodeBallot(upper) }] })
    const [bad] = await producer.send({ topic, messages: [{ partition: 1, key: 'x', value: value(), headers }] })
    const behind = valid()
    const [good] = await producer.send({ topic, messages: [{ partition: 1, key: behind.voterId, value: encodeBallot(behind) }] })
    const started = Date.now()
    expect(await waitUntil(async () => (await positionOf(1, good?.baseOffset ?? '-1'))?.kind === 'counted', 10_000, 50)).toBe(true)
    const seconds = (Date.now() - started) / 1000
    expect(seconds).toBeLessThan(5)
    const recorded = await positionOf(1, bad?.baseOffset ?? '-1')
    expect(reason === 'duplicate' ? recorded?.kind : recorded?.reason).toBe(reason)
    expect((await fetch(`${tally.url}/healthz`)).status).toBe(200)
    for (const row of await messageLedger(sql, { groupId: group, topic })) expect(row.balanced).toBe(true)
  })

  it('records the same bytes on two partitions as two rejections', async () => {
    const [a] = await producer.send({ topic, messages: [{ partition: 0, value: null }] })
    const [b] = await producer.send({ topic, messages: [{ partition: 1, value: null }] })
    expect(
      await waitUntil(
        async () =>
          (await positionOf(0, a?.baseOffset ?? '-1')) !== undefined && (await positionOf(1, b?.baseOffset ?? '-1')) !== undefined,
        10_000,
        50,
      ),
    ).toBe(true)
  })
})

describe('a message the database refuses although the contract accepts it', () => {
  it('is found by splitting the batch and rejected as unprocessable with the reason, and the rest are counted', async () => {
    const e = await openTestElection(sql)
    const t = `split-${e.id}`
    // A rule the contract does not know, as a future constraint or a bug might add.
    const constraint = `poison_${e.id.replaceAll('-', '_')}`
    await sql.unsafe(`alter table ballots add constraint ${constraint} check (voter_id <> 'north-7' or election_id <> '${e.id}') not valid`)
    try {
      const messages = Array.from({ length: 16 }, (_, i) => ({
        partition: 0,
        offset: String(i),
        value: encodeBallot(ballot(e.id, `north-${i}`, 'ada', 'north')),
      }))
      const set: string[] = []
      const outcomes = await accountBatch(
        sql,
        { groupId: 'split', topic: t, messages },
        {
          beforeRetry: async (err) => {
            throw err
          },
          onUnprocessable: (m) => set.push(m.offset),
        },
      )
      expect(set).toEqual(['7'])
      expect(outcomes.reduce((n, o) => n + o.counted, 0)).toBe(15)
      const [row] = await sql<{ reason: string; detail: string }[]>`
        select reason, detail from rejected_ballots where topic = ${t} and kafka_offset = 7`
      expect(row?.reason).toBe('unprocessable')
      expect(row?.detail).toMatch(new RegExp(constraint))
      for (const r of await messageLedger(sql, { groupId: 'split', topic: t })) expect(r.balanced).toBe(true)
    } finally {
      await sql.unsafe(`alter table ballots drop constraint ${constraint}`)
    }
  })
})
