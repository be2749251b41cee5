import { randomUUID } from 'node:crypto'
import type { Admin, Consumer, Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { messageLedger, storedOffsets } from '../lib/db/counting.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { createKafka } from '../lib/kafka.ts'
import { testSql } from './helpers.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * Two tally instances share a topic; one freezes (SIGSTOP) in the middle of a counting
 * transaction, holding its partitions' fence rows and the election's results lock. The
 * other must go on within seconds (the server ends the frozen session after
 * TALLY_IDLE_IN_TRANSACTION_TIMEOUT_MS, Kafka moves its partitions after the session
 * timeout), and when it thaws, nothing is counted twice. The frozen one is the results
 * publisher: its lease runs out and the other publishes; and the offsets stored with the
 * counts reach Kafka's own group offsets, where its tools look for lag.
 */
const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'freeze-test' })
let producer: Producer
let admin: Admin
const topic = `test.freeze.${randomUUID().slice(0, 8)}`
const group = `freeze-${randomUUID().slice(0, 8)}`
const tallies: TallyProcess[] = []
const consumers: Consumer[] = []

beforeAll(async () => {
  producer = kafka.producer()
  admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1 }] })
})
afterAll(async () => {
  for (const c of consumers) await c.disconnect()
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
    // The results snapshots of this election, with who published each and when.
    const snapshots: Array<{ at: number; publisher: string }> = []
    const results = kafka.consumer({ groupId: `freeze-results-${randomUUID().slice(0, 8)}` })
    await results.connect()
    await results.subscribe({ topic: 'results', fromBeginning: false })
    await results.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== plan.electionId) return
        snapshots.push({ at: Date.now(), publisher: message.headers?.publisher?.toString() ?? '' })
      },
    })
    consumers.push(results)
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
    // One publisher for the election, not one per instance (issue 25 item 1); the one to
    // freeze is that publisher, so that its lease has to pass to the other.
    const before = new Set(snapshots.map((x) => x.publisher))
    expect(before.size, `snapshots before the freeze came from ${[...before].join(', ')}`).toBe(1)
    const publisher = [...before][0] ?? ''
    const frozen = publisher.endsWith(`:${b.proc.pid}`) ? b : a
    // Freeze the publisher while it is inside a counting transaction (its session idle in transaction).
    let frozenAt = 0
    for (let attempt = 0; attempt < 40 && frozenAt === 0; attempt++) {
      frozen.proc.kill('SIGSTOP')
      await sleep(400)
      // Its session, idle inside a transaction that holds an election's results lock (the
      // lock every batch of that election takes): the freeze that stopped all counting.
      const [stuck] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity a
        where a.application_name = ${`votestream-tally ${frozen.proc.pid}`} and a.state = 'idle in transaction'
          and a.state_change < now() - interval '300 milliseconds'
          and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`
      if ((stuck?.n ?? 0) > 0) frozenAt = Date.now()
      else {
        frozen.proc.kill('SIGCONT')
        await sleep(150 + Math.floor(Math.random() * 100))
      }
    }
    expect(frozenAt, 'the publisher was caught inside a transaction').toBeGreaterThan(0)
    await sleep(30_000)
    // The snapshots went on while the publisher was frozen: its lease ran out and the other took it.
    const during = snapshots.filter((x) => x.at > frozenAt + 10_000 && x.at < frozenAt + 30_000)
    console.log(
      `snapshots before the freeze from ${[...before].join(', ')}; during it ${during.length}, from ${[...new Set(during.map((x) => x.publisher))].join(', ')} (the frozen one is pid ${frozen.proc.pid})`,
    )
    expect(during.length).toBeGreaterThan(0)
    expect(during.every((x) => !x.publisher.endsWith(`:${frozen.proc.pid}`))).toBe(true)
    frozen.proc.kill('SIGCONT')
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

    // Each instance reports lag only for the partitions it holds now: a partition that moved
    // away takes its gauges with it instead of standing frozen at its last value.
    const lagPartitions = async (t: TallyProcess) =>
      [...(await t.metrics()).matchAll(/^votestream_consumer_lag\{partition="(\d+)"\}/gm)].map((m) => Number(m[1]))
    let reported: number[][] = []
    for (let i = 0; i < 40; i++) {
      reported = [await lagPartitions(a), await lagPartitions(b)]
      const all = reported.flat()
      if (all.length === 6 && new Set(all).size === 6) break
      await sleep(500)
    }
    expect(
      reported.flat().sort((x, y) => x - y),
      `lag gauges: a ${reported[0]}, b ${reported[1]}`,
    ).toEqual([0, 1, 2, 3, 4, 5])

    // Kafka's own tools see the group where PostgreSQL has it: the offsets are mirrored.
    const stored = Object.fromEntries(await storedOffsets(sql, group, topic))
    const inKafka = async () => {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      return Object.fromEntries((t?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, p.offset]))
    }
    let mirrored = await inKafka()
    for (let i = 0; i < 40 && JSON.stringify(mirrored) !== JSON.stringify(stored); i++) {
      await sleep(500)
      mirrored = await inKafka()
    }
    expect(mirrored).toEqual(stored)

    // The longest any ballot cast while the publisher was frozen waited to be counted: its cast time to
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
