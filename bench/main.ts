#!/usr/bin/env bun
/**
 * `bun run bench [--quick] [--rates r1,r2] [--seconds s] [--ballot one-contest|realistic|ranked] [--precincts n] [--tallies n] [--keep-data]`:
 * the end-to-end benchmark against the real stack.
 *
 * For each offered rate: an open-loop generator sends ballots to `votes`, a real tally
 * process counts them, and the latency of every ballot is measured from its intended send
 * time to the commit that counted it (HDR histogram). CPU per process and consumer lag are
 * sampled. The parts alone — Kafka without PostgreSQL, PostgreSQL without Kafka — run in
 * the same session, and the pipeline's rate is reported as a ratio of the slower one.
 * Results: .bench/<time>.json, .bench/<time>.svg and a table on the terminal. The run's
 * elections, ballots and topic messages are removed at its end, also when it fails (and
 * any an interrupted run left, at its start) unless --keep-data.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Admin } from 'kafkajs'
import { z } from 'zod'
import { configOrExit, databaseConfig, kafkaConfig, parseConfig } from '../lib/config.ts'
import { lockBenchmark } from '../lib/db/benchmark.ts'
import { createSql, type Sql } from '../lib/db/sql.ts'
import { createKafka } from '../lib/kafka.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import { cpuMeter, cpuSeconds, peakRssMiB } from './cpu.ts'
import {
  BENCH_TOPIC,
  closeBenchElections,
  ensureBenchTopic,
  purgeBenchData,
  REALISTIC_PRECINCTS,
  releaseBenchTopics,
  runStep,
} from './load.ts'
import { kafkaAlone, postgresAlone } from './parts.ts'
import { type BenchReport, chart, table } from './report.ts'
import { describeWaits, sampleWaits } from './waits.ts'

const ROOT = join(import.meta.dirname, '..')
const OUT = join(ROOT, '.bench')
const say = (m: string) => process.stderr.write(`bench: ${m}\n`)

function readFlags() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        rates: { type: 'string' },
        seconds: { type: 'string' },
        'keep-data': { type: 'boolean', default: false },
        ballot: { type: 'string', default: 'one-contest' },
        precincts: { type: 'string' },
        tallies: { type: 'string' },
      },
    }).values
  } catch (err) {
    // An unknown flag, or a value given to a switch (`--quick=1`): named, not a stack trace.
    console.error((err as Error).message)
    process.exit(2)
  }
}
const values = readFlags()
// Flags and environment are checked once, here: a bad value is named and nothing runs.
const flags = z.object({
  quick: z.boolean().default(false),
  rates: z
    .string()
    .transform((s) => s.split(',').map((r) => Number(r.trim())))
    .pipe(z.array(z.number().int().min(100).max(500_000)).min(1))
    .optional(),
  seconds: z.coerce.number().int().min(2).max(3600).optional(),
  'keep-data': z.boolean().default(false),
  // one-contest: today's one-mark ballots over the default map; realistic: the simulator's
  // long ballot (20–40 contests per style) over 5,000 precincts; ranked: one ranked-choice
  // contest (13 candidates, 5 ranks, as New York's 2021 mayoral primary) over the default map.
  ballot: z.enum(['one-contest', 'realistic', 'ranked']).default('one-contest'),
  // The realistic ballot's map (default 5,000 precincts). Fewer precincts, shorter ballots: one
  // precinct has 11 contests, one of them ranked, on every ballot — the ranked rounds at a rate
  // the long ballot cannot reach on this machine.
  precincts: z.coerce.number().int().min(1).max(REALISTIC_PRECINCTS).optional(),
  // Tally instances sharing the benchmark's consumer group (issue #25's contention figures:
  // the database's CPU per ballot and its sessions' waits with 1, 2, 4 instances). At most
  // one per partition of the benchmark topic: another would hold none.
  tallies: z.coerce.number().int().min(1).max(TOPICS.votes.partitions).default(1),
})
const parsedFlags = flags.safeParse(values)
if (!parsedFlags.success) {
  for (const i of parsedFlags.error.issues) console.error(`--${i.path.join('.')}: ${i.message}`)
  process.exit(2)
}
const opts = parsedFlags.data
if (opts.precincts !== undefined && opts.ballot !== 'realistic') {
  console.error('--precincts: only with --ballot realistic (the one-contest ballot has a map of its own)')
  process.exit(2)
}
const env = configOrExit(() => parseConfig(databaseConfig.extend(kafkaConfig.shape), process.env))
const quick = opts.quick
const rates = opts.rates ?? (quick ? [2000, 10_000] : [2000, 5000, 10_000, 15_000, 20_000, 30_000, 40_000])
const seconds = opts.seconds ?? (quick ? 10 : 20)
const partsN = quick ? 50_000 : 200_000

/**
 * The stack's processes, whose CPU the benchmark meters, as the stack reports them
 * (`bun run stack pids`): where it keeps their pids is the stack's business. A pid it
 * cannot tell is 0, metered as nothing.
 */
function stackPids(): Record<string, number | null> {
  const out = spawnSync(process.execPath, ['stack/cli.ts', 'pids'], { cwd: ROOT, encoding: 'utf8' })
  try {
    return JSON.parse(out.stdout)
  } catch {
    say('the stack did not report its pids; its CPU is not metered')
    return {}
  }
}

/**
 * What a run that fails half-way does before it exits, once it may have made elections:
 * removes them (or, with --keep-data, closes them) and releases the run's lock, so that no
 * benchmark election is left listed beside the real ones until the next run.
 */
let afterFailure: (() => Promise<void>) | undefined

async function main() {
  if (spawnSync(process.execPath, ['stack/cli.ts', 'status'], { cwd: ROOT }).status !== 0) {
    say('bringing the local stack up')
    if (spawnSync(process.execPath, ['stack/cli.ts', 'up'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0)
      process.exit(1)
  }
  const sql = createSql(env.DATABASE_URL, { max: 10 })
  const [{ track } = { track: 'off' }] = await sql<{ track: string }[]>`select current_setting('track_commit_timestamp') as track`
  if (track !== 'on') {
    say(
      'PostgreSQL runs without track_commit_timestamp: restart the stack (`bun run stack down && bun run stack up`) so latency is measured to the commit',
    )
    process.exit(1)
  }
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'bench' })
  const admin = kafka.admin()
  const producer = kafka.producer()
  await Promise.all([admin.connect(), producer.connect()])
  // One run at a time: a second one would share the benchmark topics, and its purge would
  // delete the first one's elections in the middle of a step.
  const unlock = await lockBenchmark(sql)
  if (!unlock) {
    say('another benchmark run is in progress on this database; try again when it ends')
    process.exit(1)
  }
  // Earlier runs' data goes first (a run that was stopped half-way could not remove its
  // own): each run measures the same database, whatever ran before it.
  await removeBenchData(sql, admin, 'earlier')
  afterFailure = async () => {
    if (opts['keep-data']) await closeBenchElections(sql)
    else await removeBenchData(sql, admin, 'this')
    await unlock()
  }

  // A topic and a consumer group of its own, starting at the topic's current end, so the
  // benchmark counts only this run's ballots and leaves the regular pipeline alone.
  await ensureBenchTopic(admin)
  const groupId = `bench-${Date.now().toString(36)}`
  const ends = await admin.fetchTopicOffsets(BENCH_TOPIC)
  await sql`insert into consumer_offsets (group_id, topic, partition, next_offset)
    select ${groupId}, ${BENCH_TOPIC}, * from unnest(${ends.map((e) => e.partition)}::int[], ${ends.map((e) => e.high)}::bigint[])`
  mkdirSync(OUT, { recursive: true })
  const tallies = Array.from({ length: opts.tallies }, (_, i) =>
    spawn(process.execPath, ['services/tally/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TALLY_GROUP_ID: groupId,
        TALLY_TOPIC: BENCH_TOPIC,
        TALLY_METRICS_PORT: String(19999 - i),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  )
  for (let i = 0; i < tallies.length; i++) {
    if (!(await waitUntil(async () => (await fetch(`http://127.0.0.1:${19999 - i}/healthz`)).ok, 60_000))) {
      say(`benchmark tally ${i + 1} did not become healthy`)
      process.exit(1)
    }
  }

  const stack = stackPids()
  const processes = {
    ...Object.fromEntries(tallies.map((t, i) => [tallies.length === 1 ? 'tally' : `tally${i + 1}`, { pid: t.pid ?? 0 }])),
    bench: { pid: process.pid },
    kafka: { pid: stack.kafka ?? 0 },
    postgres: { pid: stack.postgres ?? 0, tree: true },
  }
  const steps: BenchReport['steps'] = []
  try {
    // Warm-up, not reported: the first batches pay for JIT compilation and cold caches.
    // Several instances first share the partitions out (a rebalance or two): warmed up longer.
    const warmUp = tallies.length === 1 ? 3 : 10
    say(`warming up for ${warmUp} s`)
    await runStep({ sql, producer, admin, groupId, ballot: opts.ballot, precincts: opts.precincts }, 1000, warmUp, () => () => undefined)
    for (const rate of rates) {
      say(`offering ${rate.toLocaleString('en-US')} ballots/s for ${seconds} s`)
      const waits = sampleWaits(sql)
      const { meter: cpu, ...step } = await runStep(
        { sql, producer, admin, groupId, ballot: opts.ballot, precincts: opts.precincts },
        rate,
        seconds,
        () => cpuMeter(processes),
      )
      const waited = await waits()
      const tallyPeakRssMiB = Math.max(...tallies.map((t) => peakRssMiB(t.pid ?? 0)))
      steps.push({ ...step, cpu: cpu.percent, cpuSeconds: cpu.seconds, tallyPeakRssMiB, waits: waited })
      say(`  achieved ${step.achieved.toLocaleString('en-US')}/s, p99 ${step.latency.p99} ms, exact: ${step.exact}`)
      say(`  the tally sessions in PostgreSQL (${tallies.length} instance${tallies.length === 1 ? '' : 's'}): ${describeWaits(waited)}`)
      if (step.contests) {
        const c = step.contests
        say(
          `  ${c.perBallot.toFixed(1)} contests and ${c.marksPerBallot.toFixed(1)} counted marks per ballot (${Math.round(step.achieved * c.marksPerBallot).toLocaleString('en-US')} marks/s); recount of the ballot box ${c.recountSeconds.toFixed(1)} s, ${c.differences} cells differ, ${c.unbalanced} unbalanced; a full snapshot ${(c.snapshotBytes / 1024).toFixed(0)} KiB built in ${c.snapshotMs.toFixed(0)} ms`,
        )
        if (c.rounds)
          say(
            `  ranked contest ${c.rounds.contestId}: its public rounds trailed the count by ${c.rounds.lagP50S.toFixed(1)} s (median) and ${c.rounds.lagMaxS.toFixed(1)} s at most; they held every ballot ${c.rounds.tailS === null ? 'not within 75 s' : `${c.rounds.tailS.toFixed(1)} s`} after the last was counted`,
          )
      }
    }
  } finally {
    await Promise.all(
      tallies.map((t) => {
        t.kill('SIGTERM')
        return new Promise((r) => t.on('exit', r))
      }),
    )
  }

  say(`parts alone: Kafka produce+consume of ${partsN.toLocaleString('en-US')} ballots`)
  const kafkaOnly = await kafkaAlone(kafka, partsN)
  say(`parts alone: PostgreSQL ingest of ${partsN.toLocaleString('en-US')} ballots`)
  const pgOnly = await postgresAlone(sql, partsN, () => cpuSeconds(processes.postgres.pid, true))
  // The run's own ballots through the same transaction: the database's ceiling for them.
  let pgOnlyBallot: Awaited<ReturnType<typeof postgresAlone>> | undefined
  if (opts.ballot !== 'one-contest') {
    const ballots = Math.min(partsN, 100_000)
    say(`parts alone: PostgreSQL ingest of ${ballots.toLocaleString('en-US')} ${opts.ballot} ballots`)
    pgOnlyBallot = await postgresAlone(sql, ballots, () => cpuSeconds(processes.postgres.pid, true), {
      kind: opts.ballot,
      precincts: opts.precincts,
    })
  }
  if (opts['keep-data']) {
    await closeBenchElections(sql)
    say("kept this run's elections and ballots (closed); the next run removes them")
  } else {
    say("removing this run's elections, ballots and benchmark topic messages (--keep-data keeps them)")
    await removeBenchData(sql, admin, 'this')
  }
  afterFailure = undefined
  await unlock()

  const sustained = steps.filter((s) => s.exact && s.sendErrors === 0 && s.achieved >= 0.95 * s.offered && s.latency.p99 < 5000)
  const maxSustained = Math.max(0, ...sustained.map((s) => s.achieved))
  const p99Under250At = Math.max(0, ...steps.filter((s) => s.exact && s.latency.p99 <= 250).map((s) => s.offered))
  // The run's ballots set the database's ceiling; one-contest ones are the machine's reference.
  const pgCeiling = pgOnlyBallot
    ? { name: `PostgreSQL alone, ${opts.ballot} ballots`, rate: pgOnlyBallot.rate }
    : { name: 'PostgreSQL alone', rate: pgOnly.rate }
  const slower = kafkaOnly.rate < pgCeiling.rate ? { name: 'Kafka alone', rate: kafkaOnly.rate } : pgCeiling
  const top = steps[steps.length - 1]?.cpu ?? {}
  const saturatesFirst = Object.entries(top).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown'
  const report: BenchReport = {
    when: new Date().toISOString(),
    machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    quick,
    ballot: opts.ballot,
    steps,
    parts: { kafkaAlone: kafkaOnly, postgresAlone: pgOnly, ...(pgOnlyBallot ? { postgresAloneBallot: pgOnlyBallot } : {}) },
    summary: {
      maxSustained,
      p99Under250At,
      slowerPart: slower.name,
      ratioToSlowerPart: slower.rate > 0 ? maxSustained / slower.rate : 0,
      saturatesFirst: `${saturatesFirst} (${top[saturatesFirst] ?? 0}% of one core at the highest rate)`,
    },
  }
  const stamp = report.when.replace(/[:.]/g, '-')
  writeFileSync(join(OUT, `${stamp}.json`), JSON.stringify(report, null, 2))
  writeFileSync(join(OUT, `${stamp}.svg`), chart(report))
  console.log(table(report))
  say(`wrote .bench/${stamp}.json and .bench/${stamp}.svg`)
  await Promise.all([admin.disconnect(), producer.disconnect()])
  await sql.end({ timeout: 5 })
  process.exit(steps.every((s) => s.exact) ? 0 : 1)
}

/** The benchmark's elections, positions and topic messages, removed; what had to stay is named. */
async function removeBenchData(sql: Sql, admin: Admin, whose: 'earlier' | 'this') {
  const purged = await purgeBenchData(sql)
  await releaseBenchTopics(admin)
  if (whose === 'earlier' && purged.elections > 0) {
    say(`removed ${purged.elections} earlier benchmark elections (${purged.ballots.toLocaleString('en-US')} ballots)`)
  }
  for (const id of purged.kept) {
    say(`kept benchmark election ${id}: some of its messages came through a topic other than the benchmark's`)
  }
}

main().catch(async (err) => {
  console.error(err)
  await afterFailure?.().catch((e) => say(`could not remove this run's data (the next run removes it): ${(e as Error).message}`))
  process.exit(1)
})
