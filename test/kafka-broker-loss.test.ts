import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { KAFKA_CLUSTER_BROKERS } from '../stack/kafka-cluster.ts'
import { testSql } from './helpers.ts'
import { busiestLeader, castEvenly, replicatedTopic } from './kafka-cluster-fixture.ts'
import { startTally } from './processes.ts'

/**
 * Issue 25, items 2 and 6: Kafka replicated three times (`bun run stack up --kafka-cluster`,
 * three KRaft nodes from the stack's jars), one node killed with SIGKILL while ballots are
 * cast and counted. The topic keeps two replicas in sync, so no acknowledged ballot is
 * lost; leadership moves, the producer and the tally follow it, and the count ends equal
 * to the generator's ground truth with every message of the log accounted for.
 */
const sql = testSql()
const kafka = replicatedTopic('replicated', 12)
const { topic, cluster } = kafka
const group = `broker-loss-${randomUUID().slice(0, 8)}`
const stops: Array<() => Promise<unknown>> = []

beforeAll(() => kafka.open())

afterAll(async () => {
  for (const stop of stops.reverse()) await stop()
  await kafka.close()
  await sql.end({ timeout: 5 })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('a replicated Kafka losing a node', () => {
  it('counts on when one of three Kafka nodes is killed: no ballot lost or counted twice, the ledger balances, the wait is bounded', async () => {
    const plan = defaultPlan(`brokerloss-${randomUUID().slice(0, 8)}`, {
      seed: 31,
      voters: 36_000,
      turnout: 0.9,
      invalidShare: 0.02,
      duplicateShare: 0.01,
    })
    await createSimulatedElection(sql, plan, 'Broker loss')
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, plan.electionId, 'open')
    const sim = new Simulation(plan)
    const tally = startTally({ group, name: 'tally-broker-loss', env: { TALLY_TOPIC: topic, KAFKA_BROKERS: KAFKA_CLUSTER_BROKERS } })
    stops.push(tally.stop)
    await tally.waitHealthy()

    // Ballots at about 1,500/s; whatever fails to send is sent again, so everything cast reaches the log.
    let stopped = false
    const sender = castEvenly(kafka.producer, topic, sim, 1500, () => stopped)
    stops.push(async () => {
      stopped = true
      await sender.catch(() => {})
    })

    // At about a third: the node that leads most of the topic's partitions goes, without warning.
    await sleep(8_000)
    const { node: victim, leads } = await busiestLeader(kafka.admin, topic)
    const killedAt = Date.now()
    expect(await cluster.stopNode(victim, 'SIGKILL'), `node ${victim} is ours and was running`).toBe(true)
    expect(cluster.nodePid(victim)).toBeUndefined()
    const { resent } = await sender

    // Everything sent is counted once, and the ledger of the group balances.
    const truth = sim.groundTruth(sim.ballotCount)
    const expected = [...truth.votes.values()].reduce((a, b) => a + b, 0)
    const deadline = Date.now() + 120_000
    let counted = 0
    while (Date.now() < deadline) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ballots where election_id = ${plan.electionId}`
      counted = row?.n ?? 0
      if (counted >= expected) break
      await sleep(500)
    }
    if (counted !== expected) {
      const ends = await kafka.admin.fetchTopicOffsets(topic)
      const at = new Map((await messageLedger(sql, { groupId: group, topic })).map((p) => [p.partition, p.nextOffset]))
      console.log(`not all counted: ${ends.map((e) => `p${e.partition} ${at.get(e.partition)}/${e.high}`).join(' ')}`)
    }
    expect(counted).toBe(expected)
    const rows = await sql<{ candidateId: string; regionId: string; n: number }[]>`
      select candidate_id, region_id, sum(votes)::int as n from tally_counts where election_id = ${plan.electionId} group by 1, 2`
    expect(new Map(rows.filter((r) => r.n > 0).map((r) => [`${r.candidateId}|${r.regionId}`, r.n]))).toEqual(truth.votes)
    // Rejections with their reasons, one per ballot (a malformed message names no election: the
    // ledger below holds it). A message the producer wrote twice while leadership moved (it
    // retries; it is not idempotent) is rejected at both positions: accounted, and counted apart.
    const rejected = await sql<{ reason: string; ballots: number; positions: number }[]>`
      select reason, count(distinct ballot_id)::int as ballots, count(*)::int as positions
      from rejected_ballots where election_id = ${plan.electionId} group by 1`
    expect(new Map(rejected.map((r) => [r.reason, r.ballots]))).toEqual(
      new Map([...truth.rejections].filter(([reason]) => reason !== 'malformed')),
    )
    const writtenTwice = rejected.reduce((s, r) => s + r.positions - r.ballots, 0)
    const ends = await kafka.admin.fetchTopicOffsets(topic)
    const ledger = await messageLedger(sql, { groupId: group, topic })
    for (const p of ledger) expect(p, `partition ${p.partition}`).toMatchObject({ balanced: true, contiguous: true })
    // Every position of the log, to its end, is accounted for.
    expect(Object.fromEntries(ledger.map((p) => [p.partition, p.nextOffset]))).toEqual(
      Object.fromEntries(ends.map((e) => [e.partition, e.high])),
    )

    // The longest any ballot cast after the kill waited to be counted: its cast time to the commit that counted it.
    const [wait] = await sql<{ ms: number; n: number }[]>`
      select max(extract(epoch from pg_xact_commit_timestamp(xmin) - cast_at) * 1000)::float8 as ms, count(*)::int as n
      from ballots where election_id = ${plan.electionId}
        and cast_at between ${new Date(killedAt).toISOString()}::timestamptz and ${new Date(killedAt + 20_000).toISOString()}::timestamptz`
    console.log(
      `killed node ${victim} (leader of ${leads} of 12 partitions): ${wait?.n} ballots cast in the 20 s after, the longest waited ${Math.round(wait?.ms ?? 0)} ms to be counted; ${resent} sends retried by the test, ${writtenTwice} rejected messages written twice; ${counted} counted`,
    )
    expect(wait?.n).toBeGreaterThan(5000)
    expect(wait?.ms).toBeLessThan(15_000)
  }, 300_000)
})
