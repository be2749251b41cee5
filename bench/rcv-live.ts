#!/usr/bin/env bun
/**
 * `bun bench/rcv-live.ts [--ballots 1000000] [--pending 10000] [--seed 2021] [--repeat 3]`:
 * how far a ranked contest's live rounds trail the count (issue #27, item 6), against the
 * real PostgreSQL of `bun run stack up`.
 *
 * The rounds served (GET …/contests/{id}/rounds, the NIST export) are tabulated from the
 * rankings the mixer moved into the box (`rcv_rankings`); the mixer ends a window every
 * TALLY_BALLOT_BOX_MIX_BALLOTS ballots (10,000: a second at 10,000 ballots/s) or
 * TALLY_BALLOT_BOX_MIX_SECONDS. So a ballot reaches the rounds after its window fills, is
 * mixed, and the rankings are read and tabulated. This puts `--ballots` New York-shaped
 * rankings (bench/rcv-ballots.ts) into one ranked contest, all but one window of
 * `--pending` ballots mixed first, then measures the last window's mix, the read and the
 * tabulation (best of `--repeat`), beside PostgreSQL alone counting the window's pending
 * rows in the same run.
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
import { boxBallots, mixBallotBox, mixedRankings } from '../lib/db/ballot-box.ts'
import { purgeBenchmarkData } from '../lib/db/benchmark.ts'
import { saveDefinition } from '../lib/db/contests.ts'
import { createElection } from '../lib/db/elections.ts'
import { createSql } from '../lib/db/sql.ts'
import { CANDIDATES, generate, RANKS, rules } from './rcv-ballots.ts'

const flags = z
  .object({
    ballots: z.coerce.number().int().min(1_000).max(5_000_000).default(1_000_000),
    pending: z.coerce.number().int().min(0).max(2_000_000).default(10_000),
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
      boxBallots(
        tx,
        marks
          .slice(i, i + CHUNK)
          .map((m) => ({ electionId: id, regionId: 'nyc', channel: 'election_day', styleId: 'style-1', marks: m, imprint: null })),
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
  // The public path: a window of `--pending` ballots mixed in, then the rounds read from the mixed rankings.
  const windowStart = performance.now()
  await mixBallotBox(sql)
  const windowMs = performance.now() - windowStart
  const read = await timed(() => mixedRankings(sql, id, 'mayor'))
  const rules0 = resolved.resolved.contests[0]
  if (!rules0) throw new Error('no contest')
  const tab = await timed(async () => contestRounds(rules0, read.value))
  if (tab.value.ballots !== opts.ballots) throw new Error(`the rounds hold ${tab.value.ballots} ballots, not ${opts.ballots}`)

  const fillMs = (opts.pending / 10_000) * 1000
  say(`  rcv_rankings: ${n(rows?.n ?? 0)} distinct rankings for ${n(mixedCount)} ballots mixed first (that mix took ${n(mixMs)} ms)`)
  say(`  reference, PostgreSQL alone: count the ${n(opts.pending)} pending rows   ${n(scan.ms).padStart(7)} ms`)
  say(`  mix one window of ${n(opts.pending)} ballots into the box              ${n(windowMs).padStart(7)} ms`)
  say(`  read the mixed rankings                                     ${n(read.ms).padStart(7)} ms  → ${n(read.value.length)} rankings`)
  say(`  tabulate the rounds                                         ${n(tab.ms).padStart(7)} ms  ${n(tab.cpuUs).padStart(9)} µs CPU`)
  const lag = fillMs + windowMs + read.ms + tab.ms
  say(
    `  live rounds lag the count by at most ${n(lag)} ms at 10,000 ballots/s (the window filling ${n(fillMs)} + its mix + read + tabulate; target ≤ 5,000 ms): ${lag <= 5_000 ? 'met' : 'MISSED'}` +
      `; ${tab.value.rounds.length} rounds, ${tab.value.winner} elected`,
  )
} finally {
  await purgeBenchmarkData(sql, [], { electionIds: [id] })
  await sql.end({ timeout: 5 })
}
