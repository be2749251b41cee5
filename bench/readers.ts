#!/usr/bin/env bun
/**
 * `bun run bench:readers [--seconds 10] [--connections 50] [--regions 5000] [--ballots 200000] [--count-rate 5000] [--streams 0]`:
 * election-night readers against the real API process and the real stack (issue #25 item 4).
 *
 * One election of `--regions` precincts with `--ballots` counted. The API process is
 * started with its read limits opened (one loopback client stands for many readers), and
 * autocannon (a load generator from npm, run as its own command in a process of its own) asks
 * for the results document:
 * - `GET /results`, the document every reader shares (one serialisation per version);
 * - `GET /results?since=0` in the same run: a follower far behind, answered from the same
 *   shared document plus what changed since its version, read per request (until
 *   2026-12-03 this path built a whole document per request, as every read once did).
 * Each is measured twice, alternated, while a counter adds `--count-rate` ballots/s to the
 * election through the tally's own batch code (PostgreSQL without Kafka), and the
 * counter's batch commit p99 is measured with and without readers in the same run.
 * With `--streams N`, each round also holds N server-sent event streams of the election's
 * results open (`GET …/results/stream`, plain sockets: one connection each) for `--seconds`:
 * how long they took to open, how many of the versions published meanwhile reached every
 * stream and how far behind the first the last one got them, the API process's CPU and
 * memory, and the counting's p99 beside.
 * Bounded in time; loopback only; the run's election is removed at its end.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type autocannon from 'autocannon'
import { z } from 'zod'
import { encodeBallot } from '../domain/ballot.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { configOrExit, databaseConfig, parseConfig } from '../lib/config.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { purgeBenchmarkData } from '../lib/db/benchmark.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus, settleRoll } from '../lib/db/elections.ts'
import { createSql, type Sql } from '../lib/db/sql.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { StreamFigures } from './sse-streams.ts'

const ROOT = join(import.meta.dirname, '..')
const TOPIC = 'bench.readers'
const API_PORT = 3095
const say = (m: string) => process.stderr.write(`bench:readers: ${m}\n`)

const flagsSchema = z.object({
  seconds: z.coerce.number().int().min(2).max(600).default(10),
  connections: z.coerce.number().int().min(1).max(1000).default(50),
  regions: z.coerce.number().int().min(1).max(5000).default(5000),
  ballots: z.coerce.number().int().min(1000).max(5_000_000).default(200_000),
  'count-rate': z.coerce.number().int().min(0).max(100_000).default(5000),
  // The API's own cap per address (API_SSE_MAX_PER_CLIENT) is at most 10,000.
  streams: z.coerce.number().int().min(0).max(10_000).default(0),
})

function readFlags() {
  try {
    const { values } = parseArgs({
      options: {
        seconds: { type: 'string' },
        connections: { type: 'string' },
        regions: { type: 'string' },
        ballots: { type: 'string' },
        'count-rate': { type: 'string' },
        streams: { type: 'string' },
      },
    })
    const parsed = flagsSchema.safeParse(values)
    if (parsed.success) return parsed.data
    for (const i of parsed.error.issues) console.error(`--${i.path.join('.')}: ${i.message}`)
  } catch (err) {
    console.error((err as Error).message)
  }
  process.exit(2)
}

interface ReadFigures {
  path: string
  readsPerSecond: number
  p50: number
  p99: number
  kib: number
  errors: number
}

/**
 * autocannon's own command, in a process of its own: run in this one, its response handling
 * shared the event loop with the counter and lengthened the counter's measured batches (as
 * parsing the SSE streams here once did; bench/sse-streams.ts).
 */
function readLoad(url: string, connections: number, seconds: number): Promise<ReadFigures> {
  return new Promise((resolve, reject) => {
    const args = ['--json', '-c', String(connections), '-d', String(seconds), '-H', 'accept=application/json', url]
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'autocannon'), args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`))
      try {
        const r = JSON.parse(out) as autocannon.Result
        resolve({
          path: new URL(url).pathname + new URL(url).search,
          readsPerSecond: Math.round(r.requests.average),
          p50: r.latency.p50,
          p99: r.latency.p99,
          kib: Math.round(r.throughput.average / Math.max(1, r.requests.average) / 1024),
          errors: r.errors + r.timeouts + r.non2xx,
        })
      } catch (err) {
        reject(err)
      }
    })
  })
}

/** Counts ballots into the election at `rate` a second in batches of a tenth of a second, recording each batch's commit time. */
function counter(sql: Sql, sim: Simulation, rate: number, voters: { from: number; to: number }) {
  const partitions = TOPICS.votes.partitions
  const next = Array(partitions).fill(0) as number[]
  let k = voters.from
  let stop = false
  let commits: number[] = []
  const done = (async () => {
    const perBatch = Math.max(1, Math.round(rate / 10))
    while (!stop && rate > 0) {
      const started = performance.now()
      const castAt = new Date().toISOString()
      const messages = []
      for (let i = 0; i < perBatch; i++, k++) {
        // Voters not counted yet (the roll holds twice the ballots counted first); past its end, duplicates.
        const [m] = sim.messagesFor(voters.from + ((k - voters.from) % (voters.to - voters.from)), castAt)
        const p = k % partitions
        if (!m?.ballot) continue
        const offset = next[p] ?? 0
        next[p] = offset + 1
        messages.push({ partition: p, offset: String(offset), value: encodeBallot(m.ballot) })
      }
      await countBatch(sql, { groupId: 'bench-readers', topic: TOPIC, messages })
      commits.push(performance.now() - started)
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - started))))
    }
  })()
  return {
    /** The batch commit times since the last take, in ms. */
    take() {
      const out = commits
      commits = []
      return out
    },
    async stop() {
      stop = true
      await done
    },
  }
}

/** Runs bench/sse-streams.ts with `args`: `onReady` once its streams are open, then its figures. */
function holdStreamsElsewhere(args: string[], onReady: () => void): Promise<StreamFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/sse-streams.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += String(d)
      const lines = out.split('\n')
      out = lines.pop() ?? ''
      for (const line of lines) {
        const parsed = JSON.parse(line) as StreamFigures | { ready: true }
        if ('ready' in parsed) onReady()
        else resolve(parsed)
      }
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench/sse-streams.ts exited ${code}`))
    })
  })
}

const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0) : 0
}

async function main() {
  const flags = readFlags()
  const env = configOrExit(() => parseConfig(databaseConfig, process.env))
  if (spawnSync(process.execPath, ['stack/cli.ts', 'status'], { cwd: ROOT }).status !== 0) {
    say('bringing the local stack up')
    if (spawnSync(process.execPath, ['stack/cli.ts', 'up'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0)
      process.exit(1)
  }
  const sql = createSql(env.DATABASE_URL, { max: 4 })
  let api: ChildProcess | undefined
  let electionId: string | undefined
  try {
    await purgeBenchmarkData(sql, [TOPIC])
    const plan = defaultPlan(
      `bench-readers-${Date.now().toString(36)}`,
      { seed: 7, voters: flags.ballots * 2, turnout: 0.9, invalidShare: 0, duplicateShare: 0, contests: false },
      { regions: flags.regions },
    )
    electionId = plan.electionId
    say(`election ${electionId}: ${flags.regions} precincts, counting ${flags.ballots} ballots first`)
    await createSimulatedElection(sql, plan, 'Benchmark readers', { benchmark: true })
    await createSimulatedRoll(sql, plan)
    await settleRoll(sql)
    await setElectionStatus(sql, electionId, 'open')
    const sim = new Simulation(plan)
    const castAt = new Date().toISOString()
    const partitions = TOPICS.votes.partitions
    for (let from = 0; from < flags.ballots; from += 5000) {
      const messages = []
      for (let k = from; k < Math.min(flags.ballots, from + 5000); k++) {
        const [m] = sim.messagesFor(k, castAt)
        if (m?.ballot)
          messages.push({ partition: k % partitions, offset: String(Math.floor(k / partitions)), value: encodeBallot(m.ballot) })
      }
      await countBatch(sql, { groupId: 'bench-readers-load', topic: `${TOPIC}.load`, messages })
    }

    api = spawn(process.execPath, ['services/api/main.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        API_PORT: String(API_PORT),
        API_METRICS_PORT: String(API_PORT + 1),
        API_READS_PER_SECOND: '100000',
        API_READS_BURST: '100000',
        // One loopback address stands for every follower.
        API_SSE_MAX_CONNECTIONS: String(Math.max(1000, flags.streams)),
        API_SSE_MAX_PER_CLIENT: String(Math.max(10, flags.streams)),
        LOG_LEVEL: 'warn',
      },
    })
    const base = `http://127.0.0.1:${API_PORT}`
    const healthy = await waitUntil(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true, 30_000, 200)
    if (!healthy) throw new Error('the API process did not become healthy')

    const count = counter(sql, sim, flags['count-rate'], { from: flags.ballots, to: sim.ballotCount })
    const rows: Array<ReadFigures & { countingP99: number }> = []
    const quiet: number[] = []
    const streamRows: StreamFigures[] = []
    const doc = `${base}/elections/${electionId}/results`
    for (let round = 0; round < 2; round++) {
      // The counter alone, then with each kind of reader, alternated.
      count.take()
      await new Promise((r) => setTimeout(r, flags.seconds * 1000))
      quiet.push(p99(count.take()))
      for (const url of [doc, `${doc}?since=0`]) {
        say(`round ${round + 1}: ${flags.connections} connections on ${url.replace(base, '')} for ${flags.seconds} s`)
        const figures = await readLoad(url, flags.connections, flags.seconds)
        rows.push({ ...figures, countingP99: p99(count.take()) })
      }
      if (flags.streams > 0 && api.pid) {
        say(`round ${round + 1}: ${flags.streams} result streams held open for ${flags.seconds} s`)
        count.take()
        // In a process of its own, waited for without blocking: the counter runs on in this one,
        // and its p99 counts from the moment every stream is open (opening is a figure of its own).
        const figures = await holdStreamsElsewhere(
          [String(API_PORT), `/elections/${electionId}/results/stream`, String(flags.streams), String(flags.seconds), String(api.pid)],
          () => count.take(),
        )
        streamRows.push({ ...figures, countingP99: p99(count.take()) })
        // Let the API see the sockets close and free their slots before the next round.
        await new Promise((r) => setTimeout(r, 2000))
      }
    }
    await count.stop()

    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`
    console.log(`\nReaders of a ${flags.regions}-precinct election (${flags.ballots} ballots counted first), ${machine}`)
    console.log(
      `counting alongside: ${flags['count-rate']} ballots/s through the tally's batch code; its batch p99 without readers: ${quiet.join(' / ')} ms\n`,
    )
    console.log('| path | reads/s | p50 ms | p99 ms | KiB per read | errors | counting batch p99 ms |')
    console.log('|---|---:|---:|---:|---:|---:|---:|')
    for (const r of rows)
      console.log(
        `| ${r.path.replace(electionId, '{id}')} | ${r.readsPerSecond} | ${r.p50} | ${r.p99} | ${r.kib} | ${r.errors} | ${r.countingP99} |`,
      )
    if (streamRows.length > 0) {
      console.log(
        '\n| SSE streams | opened in ms | refused | dropped | versions seen | reached every stream | last after first, p50 / max ms | API CPU % of a core | clients CPU % | API RSS MiB | counting batch p99 ms |',
      )
      console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
      for (const r of streamRows)
        console.log(
          `| ${r.streams} | ${r.openedMs} | ${r.refused} | ${r.dropped} | ${r.versions} | ${r.reachedAll} | ${r.spreadP50} / ${r.spreadMax} | ${r.apiCpuPercent} | ${r.clientCpuPercent} | ${r.apiRssMiB} | ${r.countingP99} |`,
        )
    }
    console.log(
      '\n`?since=0`: a follower far behind, the shared document plus its changes since version 0 read per request (it built a whole document per request until 2026-12-03).',
    )
  } finally {
    api?.kill('SIGTERM')
    if (electionId) {
      await setElectionStatus(sql, electionId, 'closing').catch(() => {})
      await setElectionStatus(sql, electionId, 'closed').catch(() => {})
    }
    await purgeBenchmarkData(sql, [TOPIC, `${TOPIC}.load`])
    await sql.end({ timeout: 5 })
  }
}

await main()
