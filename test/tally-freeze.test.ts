import { randomUUID } from 'node:crypto'
import type { Admin, Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { createKafka } from '../lib/kafka.ts'
import { testSql } from './helpers.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * Two tally instances share a topic; one freezes (SIGSTOP) in the middle of a counting
 * transaction, holding its partitions' fence rows and the election's results lock. The
 * other must go on within seconds (the server ends the frozen session after
 * TALLY_IDLE_IN_TRANSACTION_TIMEOUT_MS, Kafka moves its partitions after the session
 * timeout), and when it thaws, nothing is counted twice.
 */
const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'freeze-test' })
let producer: Producer
let admin: Admin
const topic = `test.freeze.${randomUUID().slice(0, 8)}`
const group = `freeze-${randomUUID().slice(0, 8)}`
const tallies: TallyProcess[] = []

beforeAll(async () => {
  producer = kafka.producer()
  admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1 }] })
})
afterAll(async () => {
  for (const t of tallies) {
    t.proc.kill('SIGCONT')
    await t.stop()
  }
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await Promise.all([producer.disconnect(), admin.disconnect()])
  await sql.end({ timeout: 5 })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('several tally instances', () => {
  it('goes on counting within seconds when one instance freezes mid-transaction, and counts nothing twice when it thaws', async () => {
    const plan = defaultPlan(`freeze-${randomUUID().slice(0, 8)}`, {
      seed: 7,
      voters: 14_000,
      turnout: 0.9,
      invalidShare: 0,
      duplicateShare: 0,
    })
    await createSimulatedElection(sql, plan, 'Freeze test')
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, plan.electionId, 'open')
    const sim = new Simulation(plan)
    // The defaults of the timeouts (services/tally/config.ts): what a deployment gets.
    const env = { TALLY_TOPIC: topic }
    const a = startTally({ group, name: 'tally-freeze-a', env })
    const b = startTally({ group, name: 'tally-freeze-b', env })
    tallies.push(a, b)
    await Promise.all([a.waitHealthy(), b.waitHealthy()])

    // Ballots at about 300/s, each cast (castAt) when it is sent, to every partition.
    let sent = 0
    let sending = true
    const sender = (async () => {
      const started = Date.now()
      while (sending && sent < sim.ballotCount) {
        const due = Math.min(sim.ballotCount, Math.floor(((Date.now() - started) / 1000) * 300))
        const messages = []
        const castAt = new Date().toISOString()
        for (; sent < due; sent++)
          for (const m of sim.messagesFor(sent, castAt)) if (m.ballot) messages.push({ key: m.key, value: encodeBallot(m.ballot) })
        if (messages.length > 0) await producer.send({ topic, acks: -1, messages })
        await sleep(20)
      }
    })()

    await sleep(8_000)
    // Freeze A while it is inside a counting transaction (its session idle in transaction).
    let frozenAt = 0
    for (let attempt = 0; attempt < 40 && frozenAt === 0; attempt++) {
      a.proc.kill('SIGSTOP')
      await sleep(400)
      // A's session, idle inside a transaction that holds an election's results lock (the
      // lock every batch of that election takes): the freeze that stopped all counting.
      const [stuck] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity a
        where a.application_name = ${`votestream-tally ${a.proc.pid}`} and a.state = 'idle in transaction'
          and a.state_change < now() - interval '300 milliseconds'
          and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`
      if ((stuck?.n ?? 0) > 0) frozenAt = Date.now()
      else {
        a.proc.kill('SIGCONT')
        await sleep(150 + Math.floor(Math.random() * 100))
      }
    }
    expect(frozenAt, 'A was caught inside a transaction').toBeGreaterThan(0)
    await sleep(30_000)
    a.proc.kill('SIGCONT')
    sending = false
    await sender

    // Everything sent is counted once, and the ledger of the group balances.
    const deadline = Date.now() + 90_000
    let counted = 0
    while (Date.now() < deadline) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ballots where election_id = ${plan.electionId}`
      counted = row?.n ?? 0
      if (counted >= sent) break
      await sleep(500)
    }
    expect(counted).toBe(sent)
    const [tallied] = await sql<
      { n: number }[]
    >`select coalesce(sum(votes), 0)::int as n from tally_counts where election_id = ${plan.electionId}`
    expect(tallied?.n).toBe(sent)
    for (const p of await messageLedger(sql, { groupId: group, topic }))
      expect(p, `partition ${p.partition}`).toMatchObject({ balanced: true })

    // The longest any ballot cast while A was frozen waited to be counted: its cast time to
    // the commit that counted it.
    const [wait] = await sql<{ ms: number; n: number }[]>`
      select max(extract(epoch from pg_xact_commit_timestamp(xmin) - cast_at) * 1000)::float8 as ms, count(*)::int as n
      from ballots where election_id = ${plan.electionId}
        and cast_at between ${new Date(frozenAt).toISOString()}::timestamptz and ${new Date(frozenAt + 30_000).toISOString()}::timestamptz`
    console.log(`frozen 30 s: ${wait?.n} ballots cast meanwhile, the longest waited ${Math.round(wait?.ms ?? 0)} ms to be counted`)
    expect(wait?.n).toBeGreaterThan(5000)
    expect(wait?.ms).toBeLessThan(15_000)
  }, 240_000)
})
