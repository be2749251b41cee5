import { randomUUID } from 'node:crypto'
import type { Producer } from 'kafkajs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BALLOTS_KEY } from '../domain/contests.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { type OutgoingBallot, sendBallots } from '../lib/ballot-producer.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { createKafka } from '../lib/kafka.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'
import { startTally, type TallyProcess } from './processes.ts'

const sql = testSql()
let producer: Producer
const running: TallyProcess[] = []

beforeAll(async () => {
  producer = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'tally-test' }).producer()
  await producer.connect()
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()))
  // The reconciliation identity: running tallies equal a recount of the raw ballots.
  const [row] = await sql<{ drift: number }[]>`
    select count(*)::int as drift from (
      -- A poll book entry of an election with contests counts as a ballot (BALLOTS_KEY).
      select election_id, coalesce(candidate_id, ${BALLOTS_KEY}) as candidate_id, count(*) as n from ballots group by 1, 2) b
    full join tallies t using (election_id, candidate_id) where b.n is distinct from t.votes`
  expect(row?.drift).toBe(0)
  // The ledger: every message the tally consumed is counted, rejected or a recorded duplicate.
  for (const p of await messageLedger(sql, { groupId: 'tally', topic: 'votes' }))
    expect(p, `partition ${p.partition}`).toMatchObject({ balanced: true })
})
afterAll(async () => {
  await producer.disconnect()
  await sql.end({ timeout: 5 })
})

async function tally(options: Parameters<typeof startTally>[0] = {}) {
  const t = await startTally(options)
  running.push(t)
  await t.waitHealthy()
  return t
}

/** Builds an election with the generator and returns its messages and ground truth. */
async function simulatedElection(voters: number, shares = { invalidShare: 0.1, duplicateShare: 0.05 }) {
  const plan = defaultPlan(`sim-${randomUUID().slice(0, 8)}`, { seed: voters, voters, turnout: 0.8, ...shares })
  await createSimulatedElection(sql, plan, 'Tally test')
  await createSimulatedRoll(sql, plan)
  await setElectionStatus(sql, plan.electionId, 'open')
  const sim = new Simulation(plan)
  const castAt = new Date().toISOString()
  const messages: Array<OutgoingBallot & { kind: string }> = []
  for (let k = 0; k < sim.ballotCount; k++) {
    for (const m of sim.messagesFor(k, castAt)) {
      messages.push({ key: m.key, electionId: plan.electionId, ballot: m.ballot, raw: m.raw, kind: m.kind })
    }
  }
  return { plan, messages, truth: sim.groundTruth(sim.ballotCount) }
}

async function send(messages: OutgoingBallot[], chunk = 2000) {
  for (let i = 0; i < messages.length; i += chunk) await sendBallots(producer, messages.slice(i, i + chunk))
}

/** Messages of an election accounted for: counted, rejected, or recorded as duplicates. */
async function recorded(electionId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select (select count(*) from ballots where election_id = ${electionId})
         + (select count(*) from rejected_ballots where election_id = ${electionId})
         + (select count(*) from duplicate_ballots where election_id = ${electionId}) as n`
  return Number(row?.n)
}

async function waitForRecorded(electionId: string, expected: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  let n = 0
  while (Date.now() < deadline) {
    n = await recorded(electionId)
    if (n >= expected) return n
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`only ${n} of ${expected} ballots of ${electionId} recorded in ${timeoutMs} ms`)
}

async function countsOf(electionId: string) {
  const votes = await sql<{ candidateId: string; regionId: string; n: number }[]>`
    select candidate_id, region_id, sum(votes)::int as n from tally_counts where election_id = ${electionId} group by 1, 2`
  const rejections = await sql<{ reason: string; n: number }[]>`
    select reason, count(*)::int as n from rejected_ballots where election_id = ${electionId} group by 1`
  return {
    votes: new Map(votes.map((v) => [`${v.candidateId}|${v.regionId}`, v.n])),
    rejections: new Map(rejections.map((r) => [r.reason, r.n])),
  }
}

describe('the tally service against real Kafka and PostgreSQL', () => {
  it('counts several elections to their ground truth and rejects every invalid ballot with its reason', async () => {
    const elections = await Promise.all([simulatedElection(3000), simulatedElection(2000), simulatedElection(1500)])
    const closed = await openTestElection(sql, { status: 'draft' })
    const extra = {
      unknown_election: ballot(`${elections[0]!.plan.electionId}-gone`, 'v1', 'ada', 'north'),
      election_not_open: ballot(closed.id, 'north-1', 'ada', 'north'),
    }
    await tally()
    // Interleave the elections, then the odd ones, then everything again (a re-send).
    const mixed = elections
      .flatMap((e) => e.messages.map((m, i) => ({ m, i })))
      .sort((a, b) => a.i - b.i)
      .map(({ m }) => m)
    await send(mixed)
    await send(Object.values(extra).map((b) => ({ key: b.voterId, electionId: b.electionId, ballot: b })))
    const resent = mixed.slice(0, 500)
    await send(resent)
    for (const e of elections) {
      const again = resent.filter((m) => m.electionId === e.plan.electionId)
      await waitForRecorded(e.plan.electionId, e.messages.length + again.length)
      const counts = await countsOf(e.plan.electionId)
      expect(counts.votes).toEqual(e.truth.votes)
      // A re-sent valid ballot is a recorded duplicate; a re-sent invalid one is a message
      // of its own, so it is a rejection of its own.
      const rejections = new Map<string, number>(e.truth.rejections)
      for (const m of again) if (m.kind !== 'valid') rejections.set(m.kind, (rejections.get(m.kind) ?? 0) + 1)
      expect(counts.rejections).toEqual(rejections)
      const [dups] = await sql<{ n: number }[]>`select count(*)::int as n from duplicate_ballots where election_id = ${e.plan.electionId}`
      expect(dups?.n).toBe(again.filter((m) => m.kind === 'valid').length)
    }
    await waitForRecorded(closed.id, 1)
    const [gone] = await sql<{ reason: string }[]>`select reason from rejected_ballots where ballot_id = ${extra.unknown_election.ballotId}`
    const [notOpen] = await sql<
      { reason: string }[]
    >`select reason from rejected_ballots where ballot_id = ${extra.election_not_open.ballotId}`
    expect(gone?.reason).toBe('unknown_election')
    expect(notOpen?.reason).toBe('election_not_open')
  })

  it('stays exact when the tally process is killed with -9 in the middle of 100,000 ballots', async () => {
    const e = await simulatedElection(125_000, { invalidShare: 0.01, duplicateShare: 0.01 })
    expect(e.messages.length).toBeGreaterThanOrEqual(100_000)
    const first = await tally({ name: 'tally-killed' })
    const sending = send(e.messages, 5000)
    const expected = e.messages.length
    await waitForRecorded(e.plan.electionId, Math.floor(expected / 3))
    await first.kill()
    running.splice(running.indexOf(first), 1)
    const midway = await recorded(e.plan.electionId)
    expect(midway).toBeLessThan(expected)
    await sending
    await tally({ name: 'tally-restarted' })
    await waitForRecorded(e.plan.electionId, expected, 180_000)
    const counts = await countsOf(e.plan.electionId)
    expect(counts.votes).toEqual(e.truth.votes)
    expect(counts.rejections).toEqual(e.truth.rejections)
  }, 300_000)

  it('shares the partitions between two instances and stays exact when one stops midway', async () => {
    const e = await simulatedElection(40_000, { invalidShare: 0.02, duplicateShare: 0.02 })
    const a = await tally({ name: 'tally-a' })
    const b = await tally({ name: 'tally-b' })
    const sending = send(e.messages, 2000)
    const expected = e.messages.length
    await waitForRecorded(e.plan.electionId, Math.floor(expected / 4))
    const [owners] = await sql<{ n: number }[]>`
      select count(distinct kafka_partition)::int as n from ballots where election_id = ${e.plan.electionId}`
    expect(owners?.n).toBeGreaterThan(1)
    expect(await a.stop()).toBe(0)
    running.splice(running.indexOf(a), 1)
    await sending
    await waitForRecorded(e.plan.electionId, expected, 180_000)
    const counts = await countsOf(e.plan.electionId)
    expect(counts.votes).toEqual(e.truth.votes)
    expect(counts.rejections).toEqual(e.truth.rejections)
    expect(await b.metrics()).toMatch(/votestream_ballots_counted_total \d+/)
  }, 300_000)

  it('makes a ballot visible in the tallies within a second', async () => {
    const e = await openTestElection(sql)
    await tally()
    const latencies: number[] = []
    for (let i = 0; i < 20; i++) {
      const b = ballot(e.id, `north-${i}`, 'ada', 'north')
      const sent = Date.now()
      await sendBallots(producer, [{ key: b.voterId, electionId: e.id, ballot: b }])
      while ((await recorded(e.id)) < i + 1) await new Promise((r) => setTimeout(r, 5))
      latencies.push(Date.now() - sent)
      await new Promise((r) => setTimeout(r, 50))
    }
    latencies.sort((x, y) => x - y)
    expect(latencies[latencies.length - 1]).toBeLessThan(1000)
  })
})
