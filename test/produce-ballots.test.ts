import { MockActivityEnvironment } from '@temporalio/testing'
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBallotActivities } from '../activities/ballots.ts'
import type { ActivityDeps } from '../activities/deps.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { createSimulatedElection } from '../lib/db/elections.ts'
import { createKafka } from '../lib/kafka.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { testSql } from './helpers.ts'

const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'produce-test' })
let producer: Producer
const admin = kafka.admin()

beforeAll(async () => {
  producer = kafka.producer()
  await Promise.all([producer.connect(), admin.connect()])
})
afterAll(async () => {
  await Promise.all([producer.disconnect(), admin.disconnect()])
  await sql.end({ timeout: 5 })
})

const topicEnd = async () => (await admin.fetchTopicOffsets(TOPICS.votes.name)).reduce((s, o) => s + Number(o.high), 0)

describe('produceBallots, the simulator activity', () => {
  it('resumes a retried attempt from its last heartbeat, sending nothing twice, and still reports the whole chunk', async () => {
    const plan = defaultPlan(`produce-${Date.now().toString(36)}`, {
      seed: 3,
      voters: 2000,
      turnout: 0.5,
      invalidShare: 0.1,
      duplicateShare: 0.1,
    })
    await createSimulatedElection(sql, plan, 'Produce test')
    const activities = createBallotActivities({ sql, producer } as unknown as ActivityDeps)
    const sim = new Simulation(plan)
    const expected = (from: number, to: number) => {
      let n = 0
      for (let k = from; k < to; k++) n += sim.messagesFor(k, '').length
      return n
    }

    const heartbeats: unknown[] = []
    const first = new MockActivityEnvironment()
    first.on('heartbeat', (d) => heartbeats.push(d))
    const before = await topicEnd()
    type Sent = Awaited<ReturnType<typeof activities.produceBallots>>
    const all: Sent = await first.run(activities.produceBallots, { electionId: plan.electionId, from: 0, to: 300, ratePerSecond: 1000 })
    expect(all.messages).toBe(expected(0, 300))
    expect(await topicEnd()).toBe(before + expected(0, 300))
    expect(heartbeats.at(-1)).toEqual({ next: 300 })

    // A retry whose last attempt heartbeated { next: 700 } sends only [700, 900).
    const retry = new MockActivityEnvironment({ heartbeatDetails: { next: 700 }, attempt: 2 })
    const mid = await topicEnd()
    const resumed: Sent = await retry.run(activities.produceBallots, {
      electionId: plan.electionId,
      from: 500,
      to: 900,
      ratePerSecond: 2000,
    })
    expect(await topicEnd()).toBe(mid + expected(700, 900))
    expect(resumed.messages).toBe(expected(500, 900))
  })
})
