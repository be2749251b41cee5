import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { Admin, Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import type { ResultsSnapshot } from '../domain/results.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { loadResults } from '../lib/db/results.ts'
import { createSql, type Sql } from '../lib/db/sql.ts'
import { createKafka } from '../lib/kafka.ts'
import { LOCAL_DATABASE_READ_URL } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import { BUN, ROOT, testSql } from './helpers.ts'
import { startApi, startTally } from './processes.ts'

/**
 * Issue 25, item 3: the API reads public results off a hot standby (DATABASE_READ_URL),
 * started by the stack itself (`bun run stack up --standby`: a base backup of the primary,
 * then streaming replication). While ballots are counted on the primary, a follower polls
 * `GET /results?since=<its version>` from the API: every candidate and region whose figures
 * changed between two of its snapshots is named in `changedSince`, versions never go back,
 * and once counting ends the standby serves the primary's results exactly.
 */
const sql = testSql()
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'standby-test' })
const topic = `test.standby.${randomUUID().slice(0, 8)}`
let producer: Producer
let admin: Admin
let standby: Sql
let startedStandby = false
const stops: Array<() => Promise<unknown>> = []

const stack = (...args: string[]) =>
  spawnSync(BUN, ['stack/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000, env: { ...process.env } })

beforeAll(async () => {
  startedStandby = !stack('env').stdout.includes('DATABASE_READ_URL')
  const up = stack('up', '--standby')
  if (up.status !== 0) throw new Error(`stack up --standby failed:\n${up.stderr}`)
  standby = createSql(LOCAL_DATABASE_READ_URL, { max: 2, applicationName: 'standby-test' })
  producer = kafka.producer()
  admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1 }] })
})

afterAll(async () => {
  for (const stop of stops.reverse()) await stop()
  await admin?.deleteTopics({ topics: [topic] }).catch(() => {})
  await Promise.all([producer?.disconnect(), admin?.disconnect()])
  await standby?.end({ timeout: 5 })
  await sql.end({ timeout: 5 })
  // The standby replays every write of the tests after this one: stopped if this file started it.
  if (startedStandby) stack('down', '--standby')
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** What changed between two snapshots a follower holds: candidates by votes, regions by ballots. */
function changes(before: ResultsSnapshot, after: ResultsSnapshot) {
  const votes = new Map(before.candidates.map((c) => [c.id, c.votes]))
  const ballots = new Map(before.regions.map((r) => [r.id, r.ballots]))
  return {
    candidates: after.candidates.filter((c) => votes.get(c.id) !== c.votes).map((c) => c.id),
    regions: after.regions.filter((r) => ballots.get(r.id) !== r.ballots).map((r) => r.id),
  }
}

describe('reads off the primary', () => {
  it('serves results from the standby while the primary counts: ?since=N names every change, versions never go back, the end is exact', async () => {
    const plan = defaultPlan(`standby-${randomUUID().slice(0, 8)}`, {
      seed: 25,
      voters: 9_000,
      turnout: 0.9,
      invalidShare: 0,
      duplicateShare: 0,
    })
    await createSimulatedElection(sql, plan, 'Standby reads')
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, plan.electionId, 'open')
    const sim = new Simulation(plan)

    const tally = startTally({ group: `standby-${randomUUID().slice(0, 8)}`, name: 'tally-standby', env: { TALLY_TOPIC: topic } })
    stops.push(tally.stop)
    await tally.waitHealthy()
    const api = await startApi({
      port: 3470,
      taskQueue: `standby-${randomUUID().slice(0, 8)}`,
      name: 'api-standby',
      env: { DATABASE_READ_URL: LOCAL_DATABASE_READ_URL, API_READS_PER_SECOND: '100000', API_READS_BURST: '100000' },
    })
    stops.push(api.stop)
    // The election reaches the standby within moments of its creation on the primary.
    expect(await waitUntil(async () => (await fetch(`${api.url}/elections/${plan.electionId}/results`)).ok, 15_000, 100)).toBe(true)

    // Ballots at about 800/s in bursts, while a follower polls with ?since. The last 1,000
    // are held back for the second part, cast while the standby's replay is paused.
    const cut = sim.ballotCount - 1000
    let stopped = false
    const send = async (from: number, to: number) => {
      const started = Date.now()
      let sent = from
      while (!stopped && sent < to) {
        const due = Math.min(to, from + Math.floor(((Date.now() - started) / 1000) * 800))
        const messages = []
        const castAt = new Date().toISOString()
        for (; sent < due; sent++)
          for (const m of sim.messagesFor(sent, castAt)) if (m.ballot) messages.push({ key: m.key, value: encodeBallot(m.ballot) })
        if (messages.length > 0) await producer.send({ topic, acks: -1, messages })
        await sleep(50)
      }
    }
    let sending = true
    const sender = send(0, cut).finally(() => {
      sending = false
    })
    // A failed assertion below ends the test while this loop runs: it stops at its next turn.
    stops.push(async () => {
      stopped = true
      await sender.catch(() => {})
    })

    const read = async (since?: number) => {
      const r = await fetch(`${api.url}/elections/${plan.electionId}/results${since === undefined ? '' : `?since=${since}`}`)
      expect(r.status, await r.clone().text()).toBe(200)
      return (await r.json()) as ResultsSnapshot & { changedSince?: { since: number; candidates: string[]; regions: string[] } }
    }
    const primary = () => loadResults(sql, plan.electionId)
    const countedOnPrimary = async () => (await primary()).candidates.reduce((s, c) => s + c.votes, 0)
    // One poll of a follower: versions never go back, and what changed is named.
    let held = await read()
    let polls = 0
    let changed = 0
    const follow = async () => {
      const next = await read(held.version)
      polls++
      expect(next.version, 'a version older than one already served').toBeGreaterThanOrEqual(held.version)
      const seen = changes(held, next)
      expect(next.changedSince?.since).toBe(held.version)
      for (const c of seen.candidates) expect(next.changedSince?.candidates, `candidate ${c} changed after ${held.version}`).toContain(c)
      for (const r of seen.regions) expect(next.changedSince?.regions, `region ${r} changed after ${held.version}`).toContain(r)
      if (next.version > held.version) changed++
      held = next
    }
    const followUntilCaughtUp = async (ballots: number) => {
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        await follow()
        if (!sending && (await countedOnPrimary()) === ballots && held.version === (await primary()).version) return true
        await sleep(100)
      }
      return false
    }
    expect(await followUntilCaughtUp(cut)).toBe(true)
    await sender
    // Many versions were followed, not one jump from nothing to the end.
    expect(changed).toBeGreaterThan(5)

    // Replay paused: the primary counts the last 1,000 ballots, the API (reading the standby)
    // still serves what the standby has — proof of where it reads — and a follower is told
    // nothing changed. Resumed: it catches up, and the follower hears of every change.
    await standby`select pg_wal_replay_pause()`
    stops.push(() => standby`select pg_wal_replay_resume()`.catch(() => {}))
    const frozen = held.version
    sending = true
    await send(cut, sim.ballotCount)
    sending = false
    expect(await waitUntil(async () => (await countedOnPrimary()) === sim.ballotCount, 60_000, 200)).toBe(true)
    expect((await primary()).version).toBeGreaterThan(frozen)
    await follow()
    expect(held.version, 'served while replay was paused').toBe(frozen)
    expect(held.changedSince).toEqual({ since: frozen, candidates: [], regions: [] })
    await standby`select pg_wal_replay_resume()`
    expect(await followUntilCaughtUp(sim.ballotCount)).toBe(true)
    expect(held.version).toBeGreaterThan(frozen)

    // The end: what the standby served is the primary's count, cell for cell.
    const final = await primary()
    expect(final.candidates.reduce((s, c) => s + c.votes, 0)).toBe(sim.ballotCount)
    expect(held.version).toBe(final.version)
    expect(held.candidates.map((c) => [c.id, c.votes])).toEqual(final.candidates.map((c) => [c.id, c.votes]))
    expect(held.regions.map((r) => [r.id, r.ballots])).toEqual(final.regions.map((r) => [r.id, r.ballots]))
    console.log(
      `standby reads: ${polls} polls, ${changed} new versions followed, replay paused at version ${frozen}, final version ${held.version}`,
    )
    const [replica] = await standby<{ standby: boolean }[]>`select pg_is_in_recovery() as standby`
    expect(replica?.standby).toBe(true)
  }, 180_000)
})
