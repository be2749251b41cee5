import { randomUUID } from 'node:crypto'
import { Client, Connection } from '@temporalio/client'
import type { Admin, Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import type { CertificationCheck } from '../domain/certification.ts'
import { sendBallots } from '../lib/ballot-producer.ts'
import { latestCertificationCheck } from '../lib/db/certification.ts'
import { loadResults } from '../lib/db/results.ts'
import { electionIdKey, electionStatusKey, recheckCertificationSignal, stopSignal } from '../lib/election-workflow-contract.ts'
import { createKafka } from '../lib/kafka.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { electionWorkflow } from '../workflows/election.ts'
import { startApiHarness } from './api-harness.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'
import { buildWorker, startTally, startWorker, type TallyProcess, type WorkerProcess } from './processes.ts'

/**
 * Certification checks its own evidence (issue 23), against the real tally, worker, Kafka,
 * PostgreSQL and Temporal: transaction markers no longer hold the close back, a broken
 * ledger holds certification back with the item named until an operator fixes it and asks
 * again, and a certified result does not move.
 */
const sql = testSql()
const taskQueue = `certification-${randomUUID().slice(0, 8)}`
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const topic = TOPICS.votes.name
let connection: Connection
let client: Client
let tally: TallyProcess
let worker: WorkerProcess
let producer: Producer
let admin: Admin

beforeAll(async () => {
  buildWorker()
  tally = startTally({ name: 'tally-for-certification' })
  await tally.waitHealthy()
  worker = startWorker(taskQueue, 'worker-for-certification')
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' })
  client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' })
  const kafka = createKafka({ brokers, clientId: 'certification-test' })
  producer = kafka.producer()
  admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
})
afterAll(async () => {
  await worker?.stop()
  await tally?.stop()
  await Promise.all([producer?.disconnect(), admin?.disconnect()])
  await connection?.close()
  await sql.end({ timeout: 5 })
})

/** A live election (no generator) with a roll of 20, opened by its workflow. */
async function liveElection() {
  const e = await openTestElection(sql, { status: 'draft', regions: { north: 10, south: 10 } })
  const handle = await client.workflow.start<typeof electionWorkflow>('electionWorkflow', {
    taskQueue,
    workflowId: `election-${e.id}`,
    args: [{ electionId: e.id, reconcileEverySeconds: 3600 }],
    typedSearchAttributes: [
      { key: electionIdKey, value: e.id },
      { key: electionStatusKey, value: 'open' },
    ],
  })
  expect(await waitUntil(async () => (await status(e.id)) === 'open', 30_000)).toBe(true)
  await sendBallots(
    producer,
    e.voters.slice(0, 12).map((v, i) => ({
      key: v.id,
      electionId: e.id,
      ballot: ballot(e.id, v.id, i % 3 === 0 ? 'alan' : 'ada', v.regionId),
    })),
  )
  return { ...e, handle }
}

async function status(id: string): Promise<string | undefined> {
  const [row] = await sql<{ status: string }[]>`select status from elections where id = ${id}`
  return row?.status
}

/** Writes a message on every partition of `votes` inside a transaction, then commits or aborts it. */
async function transactionOnEveryPartition(electionId: string, outcome: 'commit' | 'abort') {
  const txProducer = createKafka({ brokers, clientId: 'exactly-once-producer' }).producer({
    transactionalId: `certification-${outcome}-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await txProducer.connect()
  const partitions = (await admin.fetchTopicOffsets(topic)).map((o) => o.partition)
  const txn = await txProducer.transaction()
  await txn.send({
    topic,
    messages: partitions.map((partition) => ({ partition, value: `not a ballot (${outcome})`, headers: { 'election-id': electionId } })),
  })
  if (outcome === 'commit') await txn.commit()
  else await txn.abort()
  await txProducer.disconnect()
}

describe('certification', () => {
  it('completes the close past committed and aborted transactions at the tail of every partition', async () => {
    const e = await liveElection()
    await transactionOnEveryPartition(e.id, 'commit')
    await transactionOnEveryPartition(e.id, 'abort')
    await e.handle.signal(stopSignal)
    const outcome = await e.handle.result()
    expect(outcome.counted).toBe(12)
    expect(await status(e.id)).toBe('certified')
    const check = (await latestCertificationCheck(sql, e.id)) as CertificationCheck
    expect(check.passed).toBe(true)
    expect(check.items.every((i) => i.passed)).toBe(true)
    // Each partition holds at least one commit marker, one abort marker and one aborted message.
    const [ledger] = await sql<{ skipped: number; contiguous: boolean }[]>`
      select sum(skipped)::int as skipped, bool_and(contiguous) as contiguous from message_ledger where group_id = 'tally' and topic = ${topic}`
    const partitions = (await admin.fetchTopicOffsets(topic)).length
    expect(ledger?.skipped).toBeGreaterThanOrEqual(3 * partitions)
    expect(ledger?.contiguous).toBe(true)
    // The committed junk was read and rejected like any other message; the aborted never was.
    const rejected = await sql<{ n: number }[]>`
      select count(*)::int as n from rejected_ballots where election_id = ${e.id} and convert_from(raw, 'UTF8') like 'not a ballot (%'`
    expect(rejected[0]?.n).toBe(partitions)

    // Junk naming the certified election changes none of its certified figures.
    const certified = await loadResults(sql, e.id)
    await sendBallots(producer, [{ key: 'junk', electionId: e.id, raw: 'junk after certification' }])
    const recorded = await waitUntil(async () => {
      const [r] = await sql<{ n: number }[]>`
        select count(*)::int as n from rejected_ballots where election_id = ${e.id} and raw = ${Buffer.from('junk after certification')}`
      return (r?.n ?? 0) === 1
    }, 30_000)
    expect(recorded).toBe(true)
    const after = await loadResults(sql, e.id)
    expect({ version: after.version, totals: after.totals, rejections: after.rejections }).toEqual({
      version: certified.version,
      totals: certified.totals,
      rejections: certified.rejections,
    })
  }, 120_000)

  it('holds an election with an unbalanced ledger at closed, names the item, and certifies once fixed and asked again', async () => {
    const e = await liveElection()
    // One message too many on partition 0's ledger: as if a message had been lost between
    // the log and the tables (the one thing the ledger exists to detect).
    const tamper = (by: number) =>
      sql`update consumer_offsets set messages = messages + ${by} where group_id = 'tally' and topic = ${topic} and partition = 0`
    await tamper(1)
    try {
      await e.handle.signal(stopSignal)
      const held = await waitUntil(async () => (await latestCertificationCheck(sql, e.id)) !== null, 60_000)
      expect(held).toBe(true)
      const check = (await latestCertificationCheck(sql, e.id)) as CertificationCheck
      expect(check.passed).toBe(false)
      expect(check.items.filter((i) => !i.passed).map((i) => i.id)).toEqual(['ledger_balanced'])
      expect(check.items.find((i) => i.id === 'ledger_balanced')?.detail).toMatch(/partition 0: \d+ messages against/)
      expect(await status(e.id)).toBe('closed')
      // The check is recorded by the activity; the memo is set by the workflow's next task
      // when the activity's result comes back: a moment later, so waited for, not raced.
      const memo = async () => (await e.handle.describe()).memo?.certification
      await waitUntil(async () => (await memo()) === 'blocked by: ledger_balanced', 30_000)
      expect(await memo()).toBe('blocked by: ledger_balanced')
    } finally {
      await tamper(-1)
    }
    await e.handle.signal(recheckCertificationSignal)
    const outcome = await e.handle.result()
    expect(outcome.counted).toBe(12)
    expect(await status(e.id)).toBe('certified')
    expect((await latestCertificationCheck(sql, e.id))?.passed).toBe(true)
  }, 120_000)

  it("records the partitions at the open, holds an election where one voter's two ballots lie on two partitions, and certifies it once a board adjudicates", async () => {
    const e = await liveElection()
    const partitions = (await admin.fetchTopicOffsets(topic)).length
    const [opened] = await sql<{ partitions: number | null }[]>`select votes_partitions as partitions from elections where id = ${e.id}`
    expect(opened?.partitions).toBe(partitions)
    // A producer that does not key by voter (or partitions added while the polls are open):
    // the 13th voter's two ballots, for two candidates, on two partitions. Both are the first
    // on their partition; whichever the tally reads first counts.
    const voter = e.voters[12]
    if (!voter) throw new Error('fixture')
    await producer.send({
      topic,
      acks: -1,
      messages: (['ada', 'alan'] as const).map((pick, i) => ({
        key: voter.id,
        partition: i,
        value: encodeBallot(ballot(e.id, voter.id, pick, voter.regionId)),
        headers: { 'election-id': e.id },
      })),
    })
    try {
      await e.handle.signal(stopSignal)
      expect(await waitUntil(async () => (await latestCertificationCheck(sql, e.id)) !== null, 60_000)).toBe(true)
      const check = (await latestCertificationCheck(sql, e.id)) as CertificationCheck
      expect(check.items.filter((i) => !i.passed).map((i) => i.id)).toEqual(['one_partition_per_voter'])
      expect(check.items.find((i) => i.id === 'one_partition_per_voter')?.detail).toBe(
        `1 voter's ballots lie on two partitions, so which of them counted was not decided by the log's order; ${partitions} partitions from the open to the close; a board may adjudicate it (POST /elections/{id}/certification/adjudications), then check again`,
      )
      // Counted once, the other a recorded duplicate: the count is exact, its choice is not the log's.
      const [counted] = await sql<
        { n: number }[]
      >`select count(*)::int as n from ballots where election_id = ${e.id} and voter_id = ${voter.id}`
      expect(counted?.n).toBe(1)
      expect(await status(e.id)).toBe('closed')

      // The way out is a board's recorded decision, through the API: refused for an item the
      // system proves, without a reason, or for another election; then recorded, and the check asked again.
      const api = await startApiHarness()
      try {
        const adjudicate = (id: string, body: unknown, headers: Record<string, string> = api.admin) =>
          api.request(`/elections/${id}/certification/adjudications`, { method: 'POST', headers, body: JSON.stringify(body) })
        const reason = 'The county board accepts the ballot counted for the voter.'
        expect((await adjudicate(e.id, { item: 'one_partition_per_voter', reason }, { 'content-type': 'application/json' })).status).toBe(
          401,
        )
        const proven = await adjudicate(e.id, { item: 'ledger_balanced', reason })
        expect(proven.status).toBe(400)
        expect(await proven.text()).toMatch(/item/)
        expect((await adjudicate(e.id, { item: 'one_partition_per_voter', reason: 'ok' })).status).toBe(400)
        const other = await openTestElection(sql)
        expect((await adjudicate(other.id, { item: 'one_partition_per_voter', reason })).status).toBe(409)
        const recorded = await adjudicate(e.id, { item: 'one_partition_per_voter', reason })
        expect(recorded.status, await recorded.clone().text()).toBe(201)
        expect((await api.request(`/elections/${e.id}/certification/check`, { method: 'POST', headers: api.admin })).status).toBe(202)
        const outcome = await e.handle.result()
        expect(outcome.counted).toBe(13)
        expect(await status(e.id)).toBe('certified')
        const check = (await latestCertificationCheck(sql, e.id)) as CertificationCheck
        expect(check.passed).toBe(true)
        expect(check.items.find((i) => i.id === 'one_partition_per_voter')?.detail).toMatch(
          new RegExp(
            `^1 voter's ballots lie on two partitions \\(which counted was not decided by the log's order\\): adjudicated \\S+: ${reason}`,
          ),
        )
      } finally {
        await api.close()
      }
    } finally {
      if ((await status(e.id)) !== 'certified') await e.handle.terminate('test over: the election stays held')
    }
  }, 120_000)
})
