import { randomUUID } from 'node:crypto'
import { Client, Connection, type WorkflowHandle } from '@temporalio/client'
import { Worker } from '@temporalio/worker'
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultPlan } from '../domain/simulation.ts'
import { sendBallots } from '../lib/ballot-producer.ts'
import { createElection, createSimulatedElection } from '../lib/db/elections.ts'
import {
  electionIdKey,
  electionStatusKey,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setRateUpdate,
  stopSignal,
} from '../lib/election-workflow-contract.ts'
import { createKafka } from '../lib/kafka.ts'
import type { electionWorkflow } from '../workflows/election.ts'
import { ballot } from './fixtures/elections.ts'
import { ROOT, testSql } from './helpers.ts'
import { buildWorker, startTally, startWorker, type TallyProcess, type WorkerProcess } from './processes.ts'

const sql = testSql()
const taskQueue = `elections-${randomUUID().slice(0, 8)}`
let connection: Connection
let client: Client
let tally: TallyProcess
let worker: WorkerProcess
let producer: Producer
const finished: string[] = []

beforeAll(async () => {
  buildWorker()
  tally = await startTally({ name: 'tally-for-workflows' })
  await tally.waitHealthy()
  worker = startWorker(taskQueue, 'worker-for-workflows')
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' })
  client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' })
  producer = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'wf-test' }).producer()
  await producer.connect()
})
afterAll(async () => {
  await worker?.stop()
  await tally?.stop()
  await producer?.disconnect()
  await connection?.close()
  await sql.end({ timeout: 5 })
})

async function startSimulation(options: {
  voters: number
  rate: number
  invalidShare?: number
  duplicateShare?: number
  maxHistoryEvents?: number
}) {
  const id = `wf-${randomUUID().slice(0, 8)}`
  const plan = defaultPlan(id, {
    seed: options.voters,
    voters: options.voters,
    turnout: 0.8,
    invalidShare: options.invalidShare ?? 0.02,
    duplicateShare: options.duplicateShare ?? 0.01,
  })
  await createSimulatedElection(sql, plan, `Workflow test ${id}`)
  const handle = await client.workflow.start<typeof electionWorkflow>('electionWorkflow', {
    taskQueue,
    workflowId: `election-${id}`,
    args: [
      { electionId: id, simulation: { ratePerSecond: options.rate }, reconcileEverySeconds: 5, maxHistoryEvents: options.maxHistoryEvents },
    ],
    typedSearchAttributes: [
      { key: electionIdKey, value: id },
      { key: electionStatusKey, value: 'open' },
    ],
  })
  finished.push(handle.workflowId)
  return { id, handle }
}

/** The certified counts must equal what the generator says it produced, in every candidate × region × channel cell. */
async function expectCountsEqualGroundTruth(id: string) {
  const diff = await sql<{ n: number; cells: number }[]>`
    select count(*) filter (where t.v is distinct from s.v)::int as n, count(*)::int as cells from (
      select candidate_id, region_id, channel, sum(votes) as v from tally_counts where election_id = ${id} group by 1, 2, 3
    ) t full join (select candidate_id, region_id, channel, votes as v from simulation_truth where election_id = ${id}) s
      using (candidate_id, region_id, channel)`
  expect(diff[0]?.n).toBe(0)
  expect(diff[0]?.cells).toBeGreaterThan(0)
  const rejections = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      -- by ballot: a producer that retried after the kill re-sent some invalid ballots,
      -- each a rejection of its own in the ledger but not another injected ballot (no id: by bytes)
      select reason, count(distinct coalesce(ballot_id, md5(raw))) as v
      from rejected_ballots where election_id = ${id} group by 1
    ) r full join (select reason, ballots as v from simulation_injected where election_id = ${id}) s using (reason)
    where r.v is distinct from s.v`
  expect(rejections[0]?.n).toBe(0)
  const [truth] = await sql<{ n: number }[]>`select coalesce(sum(votes), 0)::int as n from simulation_truth where election_id = ${id}`
  return truth?.n ?? 0
}

async function waitForProgress(
  handle: WorkflowHandle,
  done: (p: Awaited<ReturnType<typeof progressQueryOf>>) => boolean,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const p = await progressQueryOf(handle)
    if (done(p)) return p
    if (Date.now() > deadline) throw new Error(`progress never reached the condition: ${JSON.stringify(p)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
const progressQueryOf = (handle: WorkflowHandle) => handle.query(progressQuery)

describe('election workflows on a real Temporal server, Kafka and PostgreSQL', () => {
  it('runs a simulated election of 200,000 ballots to certified, equal to the ground truth', async () => {
    const started = Date.now()
    const { id, handle } = await startSimulation({ voters: 250_000, rate: 25_000, maxHistoryEvents: 30 })
    const outcome = await handle.result()
    const seconds = (Date.now() - started) / 1000
    expect(outcome.reconciliation).toBe('match')
    expect(outcome.runs).toBeGreaterThan(1) // it continued as new on the way
    // The final report carries the ledger: every message on votes counted, rejected or a duplicate.
    const [final] = await sql<{ ledgerBalanced: boolean; ledger: unknown[] }[]>`
      select ledger_balanced, ledger from reconciliation_reports where election_id = ${id} and final order by id desc limit 1`
    expect(final?.ledger.length).toBeGreaterThan(0)
    expect(final?.ledgerBalanced).toBe(true)
    const counted = await expectCountsEqualGroundTruth(id)
    expect(counted).toBe(200_000)
    expect(outcome.counted).toBe(200_000)
    const [e] = await sql<{ status: string }[]>`select status from elections where id = ${id}`
    expect(e?.status).toBe('certified')
    const desc = await handle.describe()
    expect(desc.typedSearchAttributes.get(electionStatusKey)).toBe('certified')
    let events = 0
    for (let runId: string | undefined = desc.runId; runId; ) {
      const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow
        .getHandle(handle.workflowId, runId)
        .fetchHistory()
      events += history.events?.length ?? 0
      const previous: string | null | undefined = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId
      runId = previous || undefined
    }
    console.log(
      `200k election: ${outcome.produced} messages in ${seconds.toFixed(1)} s (${Math.round(outcome.produced / seconds)} msg/s end to end), ${outcome.runs} runs, ${events} history events`,
    )
  }, 300_000)

  it('holds production while paused, resumes, and certifies exactly what was counted when stopped early', async () => {
    const { id, handle } = await startSimulation({ voters: 200_000, rate: 3000 })
    await waitForProgress(handle, (p) => p.produced > 2000)
    await handle.signal(pauseSignal)
    const held = await waitForProgress(handle, (p) => p.paused && !p.producing)
    await new Promise((r) => setTimeout(r, 2000))
    expect((await progressQueryOf(handle)).produced).toBe(held.produced)
    expect(await handle.executeUpdate(setRateUpdate, { args: [6000] })).toBe(3000)
    await handle.signal(resumeSignal)
    await waitForProgress(handle, (p) => p.produced > held.produced + 3000)
    await handle.signal(stopSignal)
    const outcome = await handle.result()
    expect(outcome.produced).toBeLessThan(160_000 * 1.05)
    const counted = await expectCountsEqualGroundTruth(id)
    expect(counted).toBe(outcome.counted)
    expect(counted).toBeGreaterThan(0)
  }, 180_000)

  it('refuses a rate that makes no sense', async () => {
    const { handle } = await startSimulation({ voters: 50_000, rate: 1000 })
    await expect(handle.executeUpdate(setRateUpdate, { args: [-5] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/rate must be between/) },
    })
    await handle.signal(stopSignal)
    await handle.result()
  }, 120_000)

  it('completes with exact counts when the worker is killed with -9 mid-simulation', async () => {
    const { id, handle } = await startSimulation({ voters: 100_000, rate: 8000 })
    await waitForProgress(handle, (p) => p.produced > 15_000)
    await worker.kill()
    await new Promise((r) => setTimeout(r, 1000))
    worker = startWorker(taskQueue, 'worker-restarted')
    const outcome = await handle.result()
    expect(await expectCountsEqualGroundTruth(id)).toBe(80_000)
    expect(outcome.counted).toBe(80_000)
  }, 240_000)

  it('finds and repairs a tally corrupted in the database at the next reconciliation', async () => {
    const id = `live-${randomUUID().slice(0, 8)}`
    await createElection(sql, {
      id,
      name: 'Live',
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'alan', name: 'Alan' },
      ],
      regions: [{ id: 'north', name: 'North', state: 'N', registeredVoters: 100 }],
    })
    await sql`insert into voters (election_id, id, region_id) select ${id}, 'n' || g, 'north' from generate_series(1, 100) g`
    const handle = await client.workflow.start<typeof electionWorkflow>('electionWorkflow', {
      taskQueue,
      workflowId: `election-${id}`,
      args: [{ electionId: id, reconcileEverySeconds: 1 }],
    })
    finished.push(handle.workflowId)
    await waitForProgress(handle, (p) => p.phase === 'open')
    const ballots = Array.from({ length: 30 }, (_, i) => ballot(id, `n${i + 1}`, i % 3 ? 'ada' : 'alan', 'north'))
    await sendBallots(
      producer,
      ballots.map((b) => ({ key: b.voterId, electionId: id, ballot: b })),
    )
    for (;;) {
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from ballots where election_id = ${id}`
      if (r?.n === 30) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const corruptedAt = new Date()
    await sql`update tally_counts set votes = votes + 7 where ctid = (
      select ctid from tally_counts where election_id = ${id} and candidate_id = 'ada' limit 1)`
    let report: { verdict: string; differences: Array<{ candidateId: string; ballots: number; tallied: number }> } | undefined
    for (let i = 0; i < 100 && !report; i++) {
      ;[report] =
        await sql`select verdict, differences from reconciliation_reports where election_id = ${id} and ran_at > ${corruptedAt} and repaired`
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(report?.verdict).toBe('repaired')
    expect(report?.differences[0]).toMatchObject({ candidateId: 'ada', ballots: 20, tallied: 27 })
    const [ada] = await sql<{ votes: number }[]>`select votes::int from tallies where election_id = ${id} and candidate_id = 'ada'`
    expect(ada?.votes).toBe(20)
    await handle.signal(stopSignal)
    const outcome = await handle.result()
    expect(outcome).toMatchObject({ counted: 30, reconciliation: 'match' })
    await expect(client.schedule.getHandle(`reconcile-${id}`).describe()).rejects.toThrow()
  }, 120_000)

  it('replays every recorded history with the current workflow code', async () => {
    const histories = await Promise.all(
      finished.map(async (workflowId) => ({ workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() })),
    )
    const replayed = Worker.runReplayHistories({ workflowBundle: { codePath: `${ROOT}/.build/worker/workflow-bundle.js` } }, histories)
    let count = 0
    for await (const r of replayed) {
      expect(r.error, `${r.workflowId}: ${r.error}`).toBeUndefined()
      count++
    }
    expect(count).toBe(finished.length)
  }, 120_000)
})
