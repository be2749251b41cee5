#!/usr/bin/env bun
/**
 * `bun bench/rcv-live.ts [--ballots 1000000] [--pending 600000] [--seed 2021] [--repeat 3]`:
 * what a reader pays for a ranked contest's live rounds (issue #27, item 6), against the real
 * PostgreSQL of `bun run stack up`.
 *
 * The rounds served (GET …/contests/{id}/rounds) read the distinct rankings the mixer has
 * moved into the box (`rcv_rankings`) and group the ballots still pending, then tabulate.
 * So they include every ballot counted when read: the lag behind the count is the time of
 * that read and tabulation. This puts `--ballots` New York-shaped rankings into one ranked
 * contest — all but `--pending` of them through the mixer, the rest left pending (the
 * default is one mixing window, 60 s, at 10,000 ballots/s) — and prints, best of
 * `--repeat`:
 *
 * - the read: runningRankings (PostgreSQL) and the tabulation of what it returns (CPU);
 * - the reference in the same run: PostgreSQL counting the pending rows alone (one scan),
 *   and the mixer's move of one window into the box with its rankings.
 *
 * Its election (`bench-rcv-…`, marked as the benchmark's) is removed at the end, also when
 * the run fails.
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import type { Marks } from '../domain/ballot.ts'
import { electionDefinitionSchema, resolveDefinition } from '../domain/contests.ts'
import { canonicalRanking } from '../domain/rcv/ballot.ts'
import { contestRounds } from '../domain/rcv/contest-rounds.ts'
import { configOrExit, databaseConfig, parseConfig } from '../lib/config.ts'
import { countIntoBallotBox, mixBallotBox, runningRankings } from '../lib/db/ballot-box.ts'
import { purgeBenchmarkData } from '../lib/db/benchmark.ts'
import { saveDefinition } from '../lib/db/contests.ts'
import { createElection } from '../lib/db/elections.ts'
import { createSql } from '../lib/db/sql.ts'
import { CANDIDATES, generate, RANKS, rules } from './rcv-ballots.ts'

const flags = z
  .object({
    ballots: z.coerce.number().int().min(1_000).max(5_000_000).default(1_000_000),
    pending: z.coerce.number().int().min(0).max(2_000_000).default(600_000),
    seed: z.coerce.number().int().min(0).default(2021),
    repeat: z.coerce.number().int().min(1).max(10).default(3),
  })
  .refine((f) => f.pending <= f.ballots, { message: '--pending must not exceed --ballots', path: ['pending'] })
  .safeParse(
    parseArgs({
      options: { ballots: { type: 'string' }, pending: { type: 'string' }, seed: { type: 'string' }, repeat: { type: 'string' } },
    }).values,
  )
if (!flags.success) {
  for (const i of flags.error.issues) console.error(`--${i.path.join('.')}: ${i.message}`)
  process.exit(2)
}
const opts = flags.data
const env = configOrExit(() => parseConfig(databaseConfig, process.env))
const sql = createSql(env.DATABASE_URL, { max: 4 })
const say = (line: string) => console.log(line)
const n = (x: number) => Math.round(x).toLocaleString('en-US')

const id = `bench-rcv-${Date.now().toString(36)}`
const definition = electionDefinitionSchema.parse({
  districts: [{ id: 'city', name: 'New York City' }],
  contests: [
    {
      id: 'mayor',
      name: 'Mayor (ranked choice)',
      type: 'candidate',
      district: 'city',
      candidates: CANDIDATES.map((c) => ({ id: c, name: c })),
      rcv: rules,
    },
  ],
})

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; cpuUs: number; value: T }> {
  let top: { ms: number; cpuUs: number; value: T } | undefined
  for (let i = 0; i < opts.repeat; i++) {
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    const value = await run()
    const ms = performance.now() - t0
    const used = process.cpuUsage(cpu)
    if (!top || ms < top.ms) top = { ms, cpuUs: used.user + used.system, value }
  }
  return top as { ms: number; cpuUs: number; value: T }
}

async function box(marks: Marks[]): Promise<void> {
  const CHUNK = 20_000
  for (let i = 0; i < marks.length; i += CHUNK)
    await sql.begin((tx) =>
      countIntoBallotBox(
        tx,
        '0',
        marks.slice(i, i + CHUNK).map((m) => ({ electionId: id, regionId: 'nyc', channel: 'election_day', styleId: 'style-1', marks: m })),
        [],
      ),
    )
}

try {
  await createElection(sql, {
    id,
    name: 'Benchmark: live ranked-choice rounds',
    candidates: [],
    regions: [{ id: 'nyc', name: 'New York City', state: 'NY', registeredVoters: opts.ballots }],
    settings: { simulation: { benchmark: true } } as never,
  })
  const resolved = resolveDefinition(definition, [{ id: 'nyc', state: 'NY' }])
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues))
  await sql.begin((tx) => saveDefinition(tx, id, definition.districts, resolved.resolved))

  // Boxed as the counter boxes them: each ranking in canonical form (tabulation.ts).
  const rankings = generate(opts.ballots, opts.seed)
  const marks: Marks[] = rankings.map((r): Marks => (r.length === 0 ? {} : { mayor: canonicalRanking(r) }))
  const mixedCount = opts.ballots - opts.pending
  say(`rcv live bench: ${n(opts.ballots)} ballots (${CANDIDATES.length} candidates, ${RANKS} ranks), ${n(opts.pending)} of them pending`)
  await box(marks.slice(0, mixedCount))
  const mixStart = performance.now()
  await mixBallotBox(sql)
  const mixMs = performance.now() - mixStart
  await box(marks.slice(mixedCount))
  const [rows] = await sql<{ n: number }[]>`select count(*)::int as n from rcv_rankings where election_id = ${id}`

  const scan = await timed(() => sql`select count(*) from ballot_box_pending where election_id = ${id}`)
  const read = await timed(() => runningRankings(sql, id, 'mayor'))
  const rules0 = resolved.resolved.contests[0]
  if (!rules0) throw new Error('no contest')
  const tab = await timed(async () => contestRounds(rules0, read.value))
  if (tab.value.ballots !== opts.ballots) throw new Error(`the rounds hold ${tab.value.ballots} ballots, not ${opts.ballots}`)

  say(`  rcv_rankings: ${n(rows?.n ?? 0)} distinct rankings for ${n(mixedCount)} mixed ballots (mixing them took ${n(mixMs)} ms)`)
  say(`  reference, PostgreSQL alone: count the ${n(opts.pending)} pending rows   ${n(scan.ms).padStart(7)} ms`)
  say(`  read the running rankings (mixed + pending, grouped)        ${n(read.ms).padStart(7)} ms  → ${n(read.value.length)} rankings`)
  say(`  tabulate the rounds                                         ${n(tab.ms).padStart(7)} ms  ${n(tab.cpuUs).padStart(9)} µs CPU`)
  const lag = read.ms + tab.ms
  say(
    `  live rounds lag the count by ${n(lag)} ms (read + tabulate; target ≤ 5,000 ms at 10,000 ballots/s): ${lag <= 5_000 ? 'met' : 'MISSED'}` +
      `; ${tab.value.rounds.length} rounds, ${tab.value.winner} elected`,
  )
} finally {
  await purgeBenchmarkData(sql, [], { electionIds: [id] })
  await sql.end({ timeout: 5 })
}
