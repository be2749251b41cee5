#!/usr/bin/env bun
/**
 * `bun bench/rcv.ts [--ballots 1000000] [--seed 2021] [--repeat 3]`: the CPU cost of
 * tabulating a ranked-choice contest (issue #27, item 6), without any service running.
 *
 * The contest has the shape of New York City's 2021 Democratic mayoral primary: 13
 * candidates, 5 ranks, first choices in the proportions of the first round, later choices
 * drawn by popularity with a pull towards candidates of the same "lane", and the ballots
 * run out the way they did there (about one voter in eight ranks a single candidate, half
 * rank all five), with a few overvotes, skipped and repeated ranks and blank ballots.
 * Generated from a seed, so every run tabulates the same ballots.
 *
 * Printed, each the best of --repeat runs:
 * - baseline: one pass over the ballots summing first choices — the floor any count pays;
 * - full re-tabulation: grouping identical rankings, then the rounds (the target:
 *   ≤ 2 s of CPU);
 * - rounds alone over the distinct rankings, as a live count keeping counts per ranking
 *   re-runs them after each counting window: what the live rounds lag the count by, beyond
 *   the window itself (target: ≤ 5 s at 10,000 ballots/s).
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { aggregateRankings, type RcvResult, tabulate, tabulatePatterns } from '../domain/rcv/tabulate.ts'
import { CANDIDATES, generate, RANKS, rules } from './rcv-ballots.ts'

const flags = z
  .object({
    ballots: z.coerce.number().int().min(1).max(20_000_000).default(1_000_000),
    seed: z.coerce.number().int().min(0).default(2021),
    repeat: z.coerce.number().int().min(1).max(20).default(3),
  })
  .parse(parseArgs({ options: { ballots: { type: 'string' }, seed: { type: 'string' }, repeat: { type: 'string' } } }).values)

interface Measured<T> {
  ms: number
  cpuUs: number
  value: T
}

function measure<T>(run: () => T): Measured<T> {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const value = run()
  const ms = performance.now() - t0
  const used = process.cpuUsage(cpu)
  return { ms, cpuUs: used.user + used.system, value }
}

function best<T>(run: () => T): Measured<T> {
  let top: Measured<T> | undefined
  for (let i = 0; i < flags.repeat; i++) {
    const m = measure(run)
    if (!top || m.cpuUs < top.cpuUs) top = m
  }
  return top as Measured<T>
}

const say = (line: string) => console.log(line)
const fmt = (m: Measured<unknown>) =>
  `${m.ms.toFixed(0).padStart(6)} ms wall  ${Math.round(m.cpuUs).toLocaleString('en-US').padStart(11)} µs CPU`

const gen = measure(() => generate(flags.ballots, flags.seed))
const ballots = gen.value
say(`rcv bench: ${flags.ballots.toLocaleString('en-US')} ballots, ${CANDIDATES.length} candidates, ${RANKS} ranks, seed ${flags.seed}`)
say(`  (generated in ${gen.ms.toFixed(0)} ms; best of ${flags.repeat} runs below)`)

const baseline = best(() => {
  const first = new Map<string, number>()
  for (const ranking of ballots) {
    const c = ranking[0]?.[0]
    if (c !== undefined) first.set(c, (first.get(c) ?? 0) + 1)
  }
  return first
})
const full = best(() => tabulate(rules, CANDIDATES, ballots))
const grouped = best(() => aggregateRankings(CANDIDATES, ballots, RANKS))
const patterns = grouped.value
const rounds = best(() => tabulatePatterns(rules, CANDIDATES, patterns))

const result: RcvResult = full.value
if (JSON.stringify(result) !== JSON.stringify(rounds.value)) throw new Error('the full tabulation and the rounds over patterns disagree')

say(`  baseline: sum first choices      ${fmt(baseline)}   (the reference: one pass over the ballots)`)
say(`  full re-tabulation (group+rounds)${fmt(full)}   target ≤ 2,000,000 µs CPU: ${full.cpuUs <= 2_000_000 ? 'met' : 'MISSED'}`)
say(`    grouping alone                 ${fmt(grouped)}   → ${patterns.length.toLocaleString('en-US')} distinct rankings`)
say(
  `  rounds over distinct rankings    ${fmt(rounds)}   the live lag beyond the counting window (target ≤ 5 s at 10,000 ballots/s): ${
    rounds.ms <= 5_000 ? 'met' : 'MISSED'
  }`,
)
say(
  `  ratio full / baseline: ${(full.cpuUs / Math.max(1, baseline.cpuUs)).toFixed(1)}×; ${result.rounds.length} rounds, winner ${result.winner}, ` +
    `final round ${Object.entries(result.rounds.at(-1)?.tally ?? {})
      .map(([c, v]) => `${c} ${v.toLocaleString('en-US')}`)
      .join(' / ')}, inactive ${Object.entries(result.rounds.at(-1)?.inactive ?? {})
      .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
      .join(', ')}, undervotes ${result.undervotes.toLocaleString('en-US')}`,
)
