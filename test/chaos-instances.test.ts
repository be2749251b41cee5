import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import type { Sql } from '../lib/db/sql.ts'
import { KAFKA_CLUSTER_BROKERS } from '../stack/kafka-cluster.ts'
import { BUN, ROOT, testSql } from './helpers.ts'
import { busiestLeader, castEvenly, replicatedTopic } from './kafka-cluster-fixture.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * Issue 25, item 6: several tally instances under faults, real processes on the real stack.
 * A simulated election on a 16-partition topic of the replicated Kafka
 * (`stack up --kafka-cluster`), counted by three tally instances while ballots are cast;
 * then, in turn: a fourth instance joins, one is killed (SIGKILL), another frozen (SIGSTOP)
 * for 30 s and thawed, the Kafka node leading most partitions killed, PostgreSQL killed and
 * started again. After each fault the longest any ballot cast in it waited to be counted
 * is measured; at the end the count equals the generator's ground truth and every position
 * of the log is accounted for. CHAOS_BALLOTS sets the size (default 120,000; the issue's
 * 300,000 runs the same way, longer).
 */
let sql: Sql = testSql()
const kafka = replicatedTopic('chaos', 16)
const { topic, cluster } = kafka
const group = `chaos-${randomUUID().slice(0, 8)}`
const tallies: TallyProcess[] = []
let stopped = false
let sender: Promise<unknown> = Promise.resolve()

const stack = (...args: string[]) => spawnSync(BUN, ['stack/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const BALLOTS = Number(process.env.CHAOS_BALLOTS ?? 120_000)
/** Seconds the ballots take to cast: the faults are placed on this timeline. */
const SECONDS = 110

beforeAll(() => kafka.open())

afterAll(async () => {
  stopped = true
  await sender.catch(() => {})
  for (const t of tallies) {
    t.proc.kill('SIGCONT')
    await t.stop()
  }
  await kafka.close()
  await sql.end({ timeout: 5 })
})

describe('several tally instances under faults', () => {
  it('counts exactly through a join, a kill -9, a 30 s freeze, a Kafka node lost and a PostgreSQL restart', async () => {
    const voters = Math.ceil(BALLOTS / 0.9)
    const plan = defaultPlan(`chaos-${randomUUID().slice(0, 8)}`, {
      seed: 61,
      voters,
      turnout: 0.9,
      invalidShare: 0.01,
      duplicateShare: 0.01,
    })
    await createSimulatedElection(sql, plan, 'Chaos')
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, plan.electionId, 'open')
    const sim = new Simulation(plan)
    const env = { TALLY_TOPIC: topic, KAFKA_BROKERS: KAFKA_CLUSTER_BROKERS, LOG_LEVEL: 'warn' }
    const start = (name: string) => {
      const t = startTally({ group, name, env })
      tallies.push(t)
      return t
    }
    const [a, b] = [start('tally-chaos-a'), start('tally-chaos-b'), start('tally-chaos-c')]
    await Promise.all(tallies.map((t) => t.waitHealthy()))

    // Ballots cast at an even pace over SECONDS, each cast (castAt) when it is sent.
    const began = Date.now()
    sender = castEvenly(kafka.producer, topic, sim, sim.ballotCount / SECONDS, () => stopped)
    const at = async (second: number) => {
      const wait = began + second * 1000 - Date.now()
      if (wait > 0) await sleep(wait)
      return Date.now()
    }

    // The faults, in turn, each with the window its ballots are judged in.
    const faults: Array<{ name: string; from: number; to: number }> = []
    let t = await at(15)
    const d = start('tally-chaos-d')
    await d.waitHealthy()
    faults.push({ name: 'a fourth instance joins', from: t, to: t + 15_000 })

    t = await at(30)
    await a.kill()
    faults.push({ name: 'an instance is killed (SIGKILL)', from: t, to: t + 15_000 })

    t = await at(42)
    b.proc.kill('SIGSTOP')
    await sleep(30_000)
    b.proc.kill('SIGCONT')
    faults.push({ name: 'an instance is frozen 30 s (SIGSTOP), then thawed', from: t, to: t + 30_000 })

    t = await at(78)
    const { node: victim, leads } = await busiestLeader(kafka.admin, topic)
    expect(await cluster.stopNode(victim, 'SIGKILL'), `node ${victim} is ours and was running`).toBe(true)
    faults.push({ name: `Kafka node ${victim} (leader of ${leads} of 16 partitions) is killed`, from: t, to: t + 15_000 })

    t = await at(100)
    process.kill(Number(readFileSync(join(ROOT, '.stack', 'run', 'postgres.pid'), 'utf8')), 'SIGKILL')
    await sleep(500)
    const up = stack('up')
    expect(up.status, `stack up after killing PostgreSQL:\n${up.stderr}`).toBe(0)
    await sql.end({ timeout: 1 }).catch(() => {})
    sql = testSql()
    faults.push({ name: 'PostgreSQL is killed (SIGKILL) and started again', from: t, to: t + 15_000 })
    await sender

    // Everything cast is counted once.
    const truth = sim.groundTruth(sim.ballotCount)
    const expected = [...truth.votes.values()].reduce((x, y) => x + y, 0)
    let counted = 0
    for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(1000)) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ballots where election_id = ${plan.electionId}`
      counted = row?.n ?? 0
      if (counted >= expected) break
    }
    expect(counted).toBe(expected)
    const rows = await sql<{ candidateId: string; regionId: string; n: number }[]>`
      select candidate_id, region_id, sum(votes)::int as n from tally_counts where election_id = ${plan.electionId} group by 1, 2`
    expect(new Map(rows.filter((r) => r.n > 0).map((r) => [`${r.candidateId}|${r.regionId}`, r.n]))).toEqual(truth.votes)
    const rejected = await sql<{ reason: string; ballots: number }[]>`
      select reason, count(distinct ballot_id)::int as ballots from rejected_ballots where election_id = ${plan.electionId} group by 1`
    expect(new Map(rejected.map((r) => [r.reason, r.ballots]))).toEqual(
      new Map([...truth.rejections].filter(([reason]) => reason !== 'malformed')),
    )
    // Every position of the log, to its end, accounted for: counted, rejected or a recorded duplicate.
    const ends = await kafka.admin.fetchTopicOffsets(topic)
    const ledger = await messageLedger(sql, { groupId: group, topic })
    for (const p of ledger) expect(p, `partition ${p.partition}`).toMatchObject({ balanced: true, contiguous: true })
    expect(Object.fromEntries(ledger.map((p) => [p.partition, p.nextOffset]))).toEqual(
      Object.fromEntries(ends.map((e) => [e.partition, e.high])),
    )

    // Each fault: the ballots cast during it and the longest any of them waited to be counted.
    // Bounds: 15 s for an instance that freezes (the issue's bound: its partitions go to the
    // others), 20 s for one that joins or dies (the group rebalances; measured 12–14 s with
    // four Kafka JVMs and four instances on two cores); 60 s for a Kafka node (its partitions'
    // leaders are fenced after 6 s; when it was the group's coordinator the members are
    // unknown to the new one and the group rejoins, eagerly: 17–22 s in most runs, 49 s in
    // one); 60 s for PostgreSQL (everything waits for it to come back).
    const waits: Array<{ name: string; n: number; ms: number; bound: number }> = []
    for (const f of faults) {
      const [w] = await sql<{ ms: number; n: number }[]>`
        select coalesce(max(extract(epoch from pg_xact_commit_timestamp(xmin) - cast_at) * 1000), 0)::float8 as ms, count(*)::int as n
        from ballots where election_id = ${plan.electionId}
          and cast_at between ${new Date(f.from).toISOString()}::timestamptz and ${new Date(f.to).toISOString()}::timestamptz`
      const bound = f.name.startsWith('PostgreSQL')
        ? 60_000
        : f.name.startsWith('Kafka')
          ? 60_000
          : f.name.includes('frozen')
            ? 15_000
            : 20_000
      waits.push({ name: f.name, n: w?.n ?? 0, ms: w?.ms ?? 0, bound })
    }
    console.log(
      `chaos, ${sim.ballotCount} ballots on 16 partitions, exact:\n  ${waits.map((w) => `${w.name}: ${w.n} ballots cast meanwhile, the longest waited ${(w.ms / 1000).toFixed(1)} s`).join('\n  ')}`,
    )
    for (const w of waits) {
      expect(w.n, w.name).toBeGreaterThan(0)
      expect(w.ms, w.name).toBeLessThan(w.bound)
    }
  }, 900_000)
})
