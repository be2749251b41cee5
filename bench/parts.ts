import type { Kafka } from 'kafkajs'
import { encodeBallot } from '../domain/ballot.ts'
import { isTransient } from '../lib/counting/account-batch.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { mixBallotBox } from '../lib/db/ballot-box.ts'
import type { Sql } from '../lib/db/sql.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { type BenchBallot, benchElection, ensureBenchTopic, KAFKA_ONLY_TOPIC, PG_ONLY_TOPIC } from './load.ts'

/** Kafka alone: produce N ballots as fast as acks allow while a consumer reads them; no database. */
export async function kafkaAlone(kafka: Kafka, n: number): Promise<{ rate: number; seconds: number }> {
  const admin = kafka.admin()
  await admin.connect()
  await ensureBenchTopic(admin, KAFKA_ONLY_TOPIC)
  await admin.disconnect()
  const sim = await benchElectionless(n)
  const consumer = kafka.consumer({ groupId: `bench-kafka-${Date.now()}`, maxWaitTimeInMs: 20, maxBytesPerPartition: 2 * 1024 * 1024 })
  await consumer.connect()
  await consumer.subscribe({ topic: KAFKA_ONLY_TOPIC, fromBeginning: false })
  let received = 0
  let done: () => void = () => {}
  const all = new Promise<void>((r) => {
    done = r
  })
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (m.value && m.value.length > 0) received++
      if (received >= n) done()
    },
  })
  await new Promise((r) => setTimeout(r, 3000)) // let the group settle before timing
  const producer = kafka.producer()
  await producer.connect()
  const t0 = performance.now()
  const chunk = 5000
  const sends: Promise<unknown>[] = []
  for (let i = 0; i < n; i += chunk) {
    sends.push(producer.send({ topic: KAFKA_ONLY_TOPIC, acks: -1, messages: sim.slice(i, i + chunk) }))
    if (sends.length >= 4) await sends.shift()
  }
  await Promise.all(sends)
  await all
  const seconds = (performance.now() - t0) / 1000
  await Promise.all([producer.disconnect(), consumer.disconnect()])
  return { rate: Math.round(n / seconds), seconds }
}

async function benchElectionless(n: number) {
  const castAt = new Date().toISOString()
  return Array.from({ length: n }, (_, k) => ({
    key: `v${k}`,
    value: encodeBallot({
      v: 1,
      ballotId: '00000000-0000-4000-8000-000000000000',
      electionId: 'kafka-only',
      voterId: `v${k}`,
      candidateId: 'ada',
      regionId: 'north',
      channel: 'election_day',
      castAt,
    }),
  }))
}

/** Retries what the tally retries (a deadlock, a serialization failure, a lost connection) instead of dying. */
async function countRetrying<T>(count: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await count()
    } catch (err) {
      if (attempt >= 5 || !isTransient(err)) throw err
      await new Promise((r) => setTimeout(r, 50 * attempt))
    }
  }
}

/**
 * PostgreSQL alone: the tally's transaction over the same batches, no Kafka. Like the
 * tally in what can contend: TALLY_CONCURRENCY's default of transactions at once (two),
 * each over partitions of its own (the tally never has one partition in two transactions),
 * in transactions of TALLY_MAX_BATCH's default (5,000), the size the tally's reach when it
 * falls behind. Unlike it, each transaction holds one partition's batch (the tally's group
 * commit mixes several). This is PostgreSQL's ceiling for the tally's work.
 */
export async function postgresAlone(
  sql: Sql,
  n: number,
  postgresCpuSeconds: () => number,
  /** The ballots: one-contest (the machine's reference, every run) or the run's own. */
  ballot: { kind: BenchBallot; precincts?: number } = { kind: 'one-contest' },
  batchSize = 5000,
  concurrency = 2,
): Promise<{ rate: number; seconds: number; postgresUsPerBallot: number }> {
  const sim = await benchElection(sql, n, 'pg-only', ballot.kind, ballot.precincts)
  const castAt = new Date().toISOString()
  const partitions = TOPICS.votes.partitions
  const byPartition: Array<Array<{ partition: number; offset: string; value: Buffer }>> = Array.from({ length: partitions }, () => [])
  for (let k = 0; k < n; k++) {
    const [m] = sim.messagesFor(k, castAt)
    const p = k % partitions
    if (m?.ballot) byPartition[p]?.push({ partition: p, offset: String(byPartition[p]?.length ?? 0), value: encodeBallot(m.ballot) })
  }
  const batchesOf = (msgs: Array<{ partition: number; offset: string; value: Buffer }>) =>
    Array.from({ length: Math.ceil(msgs.length / batchSize) }, (_, i) => msgs.slice(i * batchSize, (i + 1) * batchSize))
  const group = `bench-pg-${Date.now()}`
  const cpu0 = postgresCpuSeconds()
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      // Worker k takes partitions k, k + concurrency, …, each partition's batches in order.
      const mine = byPartition.filter((_, p) => p % concurrency === worker).map(batchesOf)
      for (let round = 0; mine.some((b) => b.length > round); round++) {
        for (const batches of mine) {
          const batch = batches[round]
          if (batch) await countRetrying(() => countBatch(sql, { groupId: group, topic: PG_ONLY_TOPIC, messages: batch }))
          // As the tally's mixer does with its defaults: a window once 10,000 ballots wait.
          if (batch && ballot.kind !== 'one-contest') await mixBallotBox(sql, { atLeast: 10_000 })
        }
      }
    }),
  )
  // Ballots of an election with contests wait in the pending box until the tally's mixer
  // moves them (services/tally/ballot-box-mixer.ts): that move is the database's work per
  // ballot too, so the last window's is timed with the rest.
  if (ballot.kind !== 'one-contest') await mixBallotBox(sql, { wait: true })
  const seconds = (performance.now() - t0) / 1000
  const postgresUsPerBallot = Math.round(((postgresCpuSeconds() - cpu0) * 1e6) / n)
  return { rate: Math.round(n / seconds), seconds, postgresUsPerBallot }
}
