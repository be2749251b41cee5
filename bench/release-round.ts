#!/usr/bin/env bun
/**
 * `bun bench/release-round.ts [--regions 2000] [--ballots 60000]`: how long one round of
 * the results release holds an election's results lock (every counting batch of the
 * election waits for it), with the cap on cells a round (MAX_CELLS_PER_RELEASE) and without.
 * Two identical long-ballot elections are counted through the tally's batch code, leaving
 * every region × channel cell due at once (the worst burst: a publisher back after a pause);
 * then each is released, one round capped, one not, alternated twice. The lock is held for
 * the release's transaction, so its time is what is printed, with PostgreSQL's own time for
 * the counting of one batch beside it as the run's reference. Loopback; the elections are
 * removed at the end.
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { encodeBallot } from '../domain/ballot.ts'
import { MAX_CELLS_PER_RELEASE } from '../domain/results-release.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { configOrExit, databaseConfig, parseConfig } from '../lib/config.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { purgeBenchmarkData } from '../lib/db/benchmark.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus, settleRoll } from '../lib/db/elections.ts'
import { releaseCounts } from '../lib/db/results-release.ts'
import { createSql, type Sql } from '../lib/db/sql.ts'

const flagsSchema = z.object({
  regions: z.coerce.number().int().min(10).max(5000).default(2000),
  ballots: z.coerce.number().int().min(1000).max(1_000_000).default(60_000),
})
function readFlags() {
  try {
    const parsed = flagsSchema.safeParse(parseArgs({ options: { regions: { type: 'string' }, ballots: { type: 'string' } } }).values)
    if (parsed.success) return parsed.data
    for (const i of parsed.error.issues) console.error(`--${i.path.join('.')}: ${i.message}`)
  } catch (err) {
    console.error((err as Error).message)
  }
  process.exit(2)
}
const flags = readFlags()
const env = configOrExit(() => parseConfig(databaseConfig, process.env))
const sql = createSql(env.DATABASE_URL, { max: 4 })
const say = (m: string) => process.stderr.write(`bench:release-round: ${m}\n`)
const TOPIC = 'bench.release-round'
const TOPICS = [1, 2].flatMap((pass) => ['capped', 'uncapped'].map((tag) => `${TOPIC}.${tag}${pass}`))

async function countedElection(tag: string): Promise<{ id: string; batchMs: number }> {
  const plan = defaultPlan(
    `bench-release-${tag}-${Date.now().toString(36)}`,
    { seed: 11, voters: Math.ceil(flags.ballots / 0.9), turnout: 0.9, invalidShare: 0, duplicateShare: 0, contests: true },
    { regions: flags.regions },
  )
  await createSimulatedElection(sql, plan, `Benchmark release ${tag}`, { benchmark: true })
  await createSimulatedRoll(sql, plan)
  await settleRoll(sql)
  await setElectionStatus(sql, plan.electionId, 'open')
  const sim = new Simulation(plan)
  const castAt = new Date().toISOString()
  const times: number[] = []
  let n = 0
  for (let from = 0; from < sim.ballotCount; from += 2000) {
    const messages = []
    for (let k = from; k < Math.min(sim.ballotCount, from + 2000); k++)
      for (const m of sim.messagesFor(k, castAt))
        if (m.ballot) messages.push({ partition: n % 6, offset: String(Math.floor(n++ / 6)), value: encodeBallot(m.ballot) })
    const t = performance.now()
    await countBatch(sql, { groupId: `${TOPIC}-${tag}`, topic: `${TOPIC}.${tag}`, messages })
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return { id: plan.electionId, batchMs: Math.round(times[Math.floor(times.length / 2)] ?? 0) }
}

async function round(db: Sql, id: string, cap: number) {
  const t = performance.now()
  const cells = await releaseCounts(db, id, 10, cap)
  return { cells, ms: Math.round(performance.now() - t) }
}

try {
  await purgeBenchmarkData(sql, TOPICS)
  const rows: string[] = []
  for (let pass = 1; pass <= 2; pass++) {
    for (const [tag, cap] of [
      ['capped', MAX_CELLS_PER_RELEASE],
      ['uncapped', Number.POSITIVE_INFINITY],
    ] as const) {
      say(`pass ${pass}: counting ${flags.ballots} long ballots over ${flags.regions} precincts (${tag})`)
      const { id, batchMs } = await countedElection(`${tag}${pass}`)
      const first = await round(sql, id, cap)
      rows.push(`| ${pass} | ${tag} | ${first.cells} | ${first.ms} | ${batchMs} |`)
      await setElectionStatus(sql, id, 'closing')
      await setElectionStatus(sql, id, 'closed')
    }
  }
  console.log(
    `\nOne release round after ${flags.ballots} long ballots over ${flags.regions} precincts were counted, every cell due at once`,
  )
  console.log(
    '| pass | round | cells released | round ms (a scan, then the transaction that holds the results lock) | median 2,000-ballot counting batch ms (reference) |',
  )
  console.log('|---:|---|---:|---:|---:|')
  for (const r of rows) console.log(r)
} finally {
  await purgeBenchmarkData(sql, TOPICS)
  await sql.end({ timeout: 5 })
}
