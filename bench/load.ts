import { type Admin, ConfigResourceTypes, type Producer } from 'kafkajs'
import { encodeBallot } from '../domain/ballot.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import type { TabulationIndex } from '../domain/tabulation.ts'
import { rankedContestProgress } from '../lib/db/ballot-box.ts'
import { purgeBenchmarkData } from '../lib/db/benchmark.ts'
import { recountContests } from '../lib/db/contest-recount.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus, settleRoll } from '../lib/db/elections.ts'
import { loadResults } from '../lib/db/results.ts'
import { readSnapshot, type Sql } from '../lib/db/sql.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { type LatencySummary, measureLatency } from './latency.ts'

export interface StepResult {
  offered: number
  seconds: number
  sent: number
  counted: number
  achieved: number
  exact: boolean
  latency: LatencySummary
  lag: Array<{ t: number; lag: number }>
  maxLag: number
  sendErrors: number
  /** Realistic ballots only: what each ballot carried, and the recount of the step's ballot box against the running counts. */
  contests?: {
    perBallot: number
    marksPerBallot: number
    recountSeconds: number
    differences: number
    unbalanced: number
    /** A full results snapshot of the step's election (what the results topic and SSE carry): its size and build time. */
    snapshotBytes: number
    snapshotMs: number
    /**
     * The ranked contest on most ballots: how far its public rounds (the mixed rankings)
     * trailed the count while ballots came (ballots counted but not yet in the rounds, in
     * seconds of the contest's own rate, sampled twice a second), and how long after the last
     * ballot was counted the rounds held every ballot (the last window's wait).
     */
    rounds?: { contestId: string; lagP50S: number; lagMaxS: number; tailS: number | null }
  }
}

export type BenchBallot = 'one-contest' | 'realistic' | 'ranked'
/** The realistic ballot's map by default: 5,000 precincts, each ballot's marks cells of their own. */
export const REALISTIC_PRECINCTS = 5000

/**
 * The benchmark's own topic, shaped like `votes`: its backlog never lands on the regular
 * tally group, which would otherwise have to skip millions of benchmark ballots.
 */
export const BENCH_TOPIC = 'bench.votes'
/** The positions PostgreSQL alone records its ballots at (no Kafka topic holds them). */
export const PG_ONLY_TOPIC = 'bench.pg-only'
/** Kafka alone's topic (no database reads it). */
export const KAFKA_ONLY_TOPIC = 'bench.kafka-only'

/**
 * Benchmark topics keep an hour of messages, in segments small enough to be deleted
 * soon after: a full sweep writes about a gigabyte, and kept for Kafka's default week it
 * filled the machine's disk across a few days of runs.
 */
const BENCH_TOPIC_CONFIG = [
  { name: 'retention.ms', value: String(60 * 60 * 1000) },
  { name: 'segment.bytes', value: String(64 * 1024 * 1024) },
]

/** Creates a benchmark topic, or brings an existing one (made by an older run) to the benchmark's retention. */
export async function ensureBenchTopic(admin: Admin, topic: string = BENCH_TOPIC) {
  if (!(await admin.listTopics()).includes(topic)) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: TOPICS.votes.partitions, replicationFactor: 1, configEntries: BENCH_TOPIC_CONFIG }],
    })
    return
  }
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: BENCH_TOPIC_CONFIG }],
  })
}

/** Deletes every message of the benchmark's topics so far: Kafka frees their closed segments. */
export async function releaseBenchTopics(admin: Admin) {
  const existing = await admin.listTopics()
  for (const topic of [BENCH_TOPIC, KAFKA_ONLY_TOPIC].filter((t) => existing.includes(t))) {
    const ends = await admin.fetchTopicOffsets(topic)
    await admin.deleteTopicRecords({ topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) })
  }
}

/** Deletes what benchmark runs left in PostgreSQL (see purgeBenchmarkData). */
export function purgeBenchData(sql: Sql) {
  return purgeBenchmarkData(sql, [BENCH_TOPIC, PG_ONLY_TOPIC])
}

const opened: string[] = []

/** Closes the elections this run opened, so none is left open for ever. */
export async function closeBenchElections(sql: Sql): Promise<void> {
  for (const id of opened.splice(0)) {
    await setElectionStatus(sql, id, 'closing')
    await setElectionStatus(sql, id, 'closed')
  }
}

/** A fresh open election with a roll big enough for `ballots` valid ballots. */
export async function benchElection(
  sql: Sql,
  ballots: number,
  label: string,
  ballot: BenchBallot = 'one-contest',
  precincts = REALISTIC_PRECINCTS,
) {
  const voters = Math.ceil(ballots / 0.9) + 10
  const contests = ballot === 'realistic' ? true : ballot === 'ranked' ? 'ranked' : false
  const plan = defaultPlan(
    `bench-${label}-${Date.now().toString(36)}`,
    // Long ballots carry their paper's imprint, as a simulation created through the API does (a fixed key: the run's own).
    {
      seed: 99,
      voters,
      turnout: 0.9,
      invalidShare: 0,
      duplicateShare: 0,
      contests,
      ...(contests ? { imprintKey: '5eed5eed5eed5eed5eed5eed5eed5eed' } : {}),
    },
    ballot === 'realistic' ? { regions: precincts } : {},
  )
  // Marked as the benchmark's, so that the purge (lib/db/benchmark.ts) may delete it; the run
  // removes it when it ends, or the next run at its start.
  await createSimulatedElection(sql, plan, `Benchmark ${label}`, { benchmark: true })
  await createSimulatedRoll(sql, plan)
  // Settled before the polls open, as a roll loaded days ahead would be: otherwise
  // autovacuum and autoanalyze of the hundreds of thousands of voters just written ran
  // during the first seconds of the step, and the step's tail measured them.
  await settleRoll(sql)
  await setElectionStatus(sql, plan.electionId, 'open')
  opened.push(plan.electionId)
  return new Simulation(plan)
}

/** Messages not yet counted: the end of each partition minus the offset stored with the counts. */
export async function consumerLag(sql: Sql, admin: Admin, groupId: string, topic = BENCH_TOPIC): Promise<number> {
  const [ends, stored] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    sql<{ partition: number; nextOffset: string }[]>`
      select partition, next_offset::text from consumer_offsets where group_id = ${groupId} and topic = ${topic}`,
  ])
  const at = new Map(stored.map((s) => [s.partition, BigInt(s.nextOffset)]))
  return ends.reduce((sum, e) => sum + Number(BigInt(e.high) - (at.get(e.partition) ?? 0n)), 0)
}

/**
 * One step of the sweep: sends `rate` ballots per second for `seconds`, open loop —
 * each ballot has an intended send time (its castAt) and is sent when it is due, whether
 * or not earlier sends have been acknowledged, so a slow pipeline shows up as latency
 * instead of quietly lowering the offered rate.
 */
export async function runStep<M>(
  deps: { sql: Sql; producer: Producer; admin: Admin; groupId: string; ballot?: BenchBallot; precincts?: number },
  rate: number,
  seconds: number,
  startMeter: () => () => M,
): Promise<StepResult & { meter: M }> {
  const { sql, producer, admin, groupId } = deps
  const total = Math.round(rate * seconds)
  const sim = await benchElection(sql, total, `${rate}`, deps.ballot, deps.precincts)
  // A long ballot costs the generator ~150 µs to draw (more than counting it): drawn before
  // the step, so the step meters the pipeline, not the simulator; castAt is set when sent.
  const drawn = sim.contests ? Array.from({ length: total }, (_, k) => sim.messagesFor(k, '')[0]) : null
  // Metered from here: loading the roll above is the election's setup, not the counting.
  const stopMeter = startMeter()
  const electionId = sim.plan.electionId
  const lag: StepResult['lag'] = []
  const inflight = new Set<Promise<unknown>>()
  let sendErrors = 0
  let sent = 0
  const startEpoch = Date.now() + 50
  const lagTimer = setInterval(() => {
    void consumerLag(sql, admin, groupId).then(
      (l) => lag.push({ t: (Date.now() - startEpoch) / 1000, lag: l }),
      () => {},
    )
  }, 500)
  const ranked = sim.contests ? widestRankedContest(sim.contests) : null
  const behind: number[] = []
  const roundsTimer = ranked
    ? setInterval(() => {
        void rankedContestProgress(sql, electionId, ranked).then(
          (p) => behind.push(p.counted - p.inRounds),
          () => {},
        )
      }, 500)
    : null

  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - startEpoch) / 1000) * rate))
    if (due > sent) {
      const messages = []
      for (let k = sent; k < due; k++) {
        const intended = new Date(startEpoch + (k / rate) * 1000).toISOString()
        const m = drawn ? drawn[k] : sim.messagesFor(k, intended)[0]
        if (m?.ballot) messages.push({ key: m.key, value: encodeBallot({ ...m.ballot, castAt: intended }) })
      }
      sent = due
      const p = producer
        .send({ topic: BENCH_TOPIC, acks: -1, messages })
        .catch(() => {
          sendErrors += messages.length
        })
        .finally(() => inflight.delete(p))
      inflight.add(p)
    }
    await new Promise((r) => setTimeout(r, 2))
  }
  await Promise.all(inflight)

  // Drain: wait until the tally has accounted for every message of the topic (or give up
  // after a minute). Read from the stored offsets, a few rows: counting the election's
  // ballots here would charge the benchmark's own queries to PostgreSQL's CPU per ballot.
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline && (await consumerLag(sql, admin, groupId)) > 0) await new Promise((r) => setTimeout(r, 100))
  const meter = stopMeter()
  clearInterval(lagTimer)
  if (roundsTimer) clearInterval(roundsTimer)
  // After the last ballot: how long until the rounds hold them all (the last window ends on time, not on count).
  const drained = Date.now()
  let tailS: number | null = null
  while (ranked && Date.now() - drained < 75_000) {
    const p = await rankedContestProgress(sql, electionId, ranked)
    if (p.inRounds >= p.counted) {
      tailS = (Date.now() - drained) / 1000
      break
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  const counted = Number((await sql<{ n: number }[]>`select count(*)::int as n from ballots where election_id = ${electionId}`)[0]?.n)
  const [span] = await sql<{ last: number }[]>`
    select extract(epoch from max(pg_xact_commit_timestamp(xmin)))::float8 * 1000 as last from ballots where election_id = ${electionId}`
  const [tallied] = await sql<{ n: number }[]>`select coalesce(sum(votes), 0)::int as n from tally_counts where election_id = ${electionId}`
  const elapsed = ((span?.last ?? Date.now()) - startEpoch) / 1000
  const recounted = sim.contests ? await recountStep(sql, electionId, counted) : undefined
  const sorted = [...behind].sort((a, b) => a - b)
  const contestRate = ranked ? Math.max(1, (await rankedContestProgress(sql, electionId, ranked)).counted / Math.max(elapsed, seconds)) : 1
  const contests =
    recounted && ranked
      ? {
          ...recounted,
          rounds: {
            contestId: ranked,
            // Ballots behind, in seconds of this contest's own rate (it is on a share of the ballots).
            lagP50S: (sorted[Math.floor(sorted.length / 2)] ?? 0) / contestRate,
            lagMaxS: (sorted.at(-1) ?? 0) / contestRate,
            tailS,
          },
        }
      : recounted
  return {
    offered: rate,
    seconds,
    sent: total,
    counted,
    achieved: Math.round(counted / Math.max(elapsed, seconds)),
    // Exact: every ballot Kafka accepted is counted once; sends that failed are reported apart
    // (a timed-out send may still have been written, so they bound the count from below).
    exact:
      counted >= total - sendErrors &&
      counted <= total &&
      tallied?.n === counted &&
      (!contests || (contests.differences === 0 && contests.unbalanced === 0)),
    contests,
    latency: await measureLatency(sql, electionId),
    lag,
    maxLag: Math.max(0, ...lag.map((l) => l.lag)),
    sendErrors,
    meter,
  }
}

/** The ranked contest on the most ballots: the one whose rounds trail the count the most visibly. */
function widestRankedContest(index: TabulationIndex): string | null {
  const ranked = index.resolved.contests.filter((c) => c.rcv)
  ranked.sort((a, b) => (index.resolved.regionsOfContest.get(b.id)?.length ?? 0) - (index.resolved.regionsOfContest.get(a.id)?.length ?? 0))
  return ranked[0]?.id ?? null
}

/** The step's ballot box recounted against its running counts, timed (after the step: not metered). */
async function recountStep(sql: Sql, electionId: string, counted: number): Promise<NonNullable<StepResult['contests']>> {
  const started = performance.now()
  const recount = await readSnapshot(sql, (tx) => recountContests(tx, electionId))
  const recountSeconds = (performance.now() - started) / 1000
  const [marks] = await readSnapshot(
    sql,
    (tx) => tx<{ n: number }[]>`select coalesce(sum(votes), 0)::float8 as n from contest_counts where election_id = ${electionId}`,
  )
  const built = performance.now()
  const snapshot = JSON.stringify(await loadResults(sql, electionId))
  const snapshotMs = performance.now() - built
  return {
    perBallot: counted > 0 ? recount.contestBallots / counted : 0,
    marksPerBallot: counted > 0 ? (marks?.n ?? 0) / counted : 0,
    recountSeconds,
    differences: recount.differences.length,
    unbalanced: recount.unbalanced,
    snapshotBytes: Buffer.byteLength(snapshot),
    snapshotMs,
  }
}
