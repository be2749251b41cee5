import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Ranking } from './ballot.ts'
import type { RcvRules } from './rules.ts'
import type { RcvResult, RcvRound, RcvTiebreak } from './tabulate.ts'

/**
 * A plain instant-runoff count, the independent reference the tests hold tabulate.ts to
 * (tabulate.property.test.ts, simulated-elections.test.ts). For tests only: nothing in the
 * application imports it. It shares nothing with tabulate.ts but the result's types: ballot by
 * ballot, every ballot read again from its first rank every round, against a Set of the
 * continuing candidates, as the rules say it in words — slow, and obviously so. Its seeded
 * draw hashes with @noble/hashes itself, not through domain/sha256.ts (domain/ may not
 * import node:crypto).
 */

export const CAUSES = ['overvotes', 'skippedRankings', 'exhaustedChoices', 'repeatedRankings'] as const
type Cause = (typeof CAUSES)[number]
type Reading = { counts: string } | { inactive: Cause } | { undervote: true }

/** Where one ballot stands, read from the top against the continuing candidates. */
function read(rules: RcvRules, ranking: Ranking, continuing: Set<string>): Reading {
  const marked = ranking.map((marks, rank) => ({ rank, marks: [...new Set(marks)] })).filter((r) => r.marks.length > 0)
  if (marked.length === 0) return { undervote: true }
  const limit = rules.maxSkippedRanksAllowed
  const met = new Set<string>()
  let previousRank = -1
  for (const [i, { rank, marks }] of marked.entries()) {
    const blanksBefore = rank - previousRank - 1
    if (limit !== 'unlimited' && blanksBefore > limit) return { inactive: 'skippedRankings' }
    previousRank = rank
    if (rules.duplicateRankingRule === 'exhaustOnDuplicate') {
      if (marks.some((m) => met.has(m))) return { inactive: 'repeatedRankings' }
      for (const m of marks) met.add(m)
    }
    const isLast = i === marked.length - 1
    if (marks.length > 1) {
      if (rules.overvoteRule === 'exhaustImmediately') return { inactive: 'overvotes' }
      if (isLast) return { inactive: 'exhaustedChoices' }
      continue
    }
    if (continuing.has(marks[0] as string)) return { counts: marks[0] as string }
  }
  return { inactive: 'exhaustedChoices' }
}

const utf8 = new TextEncoder()

function draw(seed: string, round: number, tied: string[]) {
  return tied
    .map((candidate) => ({ candidate, sha256: bytesToHex(sha256(utf8.encode(`${seed}:${round}:${candidate}`))) }))
    .sort((a, b) => a.sha256.localeCompare(b.sha256))
}

function settle(
  rules: RcvRules,
  purpose: 'elimination' | 'election',
  tied: string[],
  round: number,
  tallies: Map<string, number>[],
): RcvTiebreak {
  const votes = tallies[round - 1]?.get(tied[0] as string) as number
  let still = tied
  if (rules.tiebreakMode === 'previousRoundCountsThenRandom') {
    for (let earlier = round - 1; earlier >= 1 && still.length > 1; earlier--) {
      const counts = still.map((c) => tallies[earlier - 1]?.get(c) as number)
      const target = purpose === 'elimination' ? Math.min(...counts) : Math.max(...counts)
      still = still.filter((_, i) => counts[i] === target)
      if (still.length === 1)
        return { purpose, tied, votes, selected: still[0] as string, method: 'previousRoundCounts', decidingRound: earlier }
    }
  }
  const order = draw(rules.tiebreakSeed, round, still)
  return { purpose, tied, votes, selected: order[0]?.candidate as string, method: 'seededDraw', draw: order }
}

/** The rounds of an instant runoff over `ballots` (as marked, in any form validateRanking accepts), counted the plain way. */
export function plainTabulate(rules: RcvRules, candidates: string[], ballots: Ranking[]): RcvResult {
  const continuing = new Set(candidates)
  const rounds: RcvRound[] = []
  const tallies: Map<string, number>[] = []
  let before: Reading[] = []
  for (let round = 1; ; round++) {
    const now = ballots.map((b) => read(rules, b, continuing))
    const alive = candidates.filter((c) => continuing.has(c))
    const tally = new Map(alive.map((c) => [c, now.filter((r) => 'counts' in r && r.counts === c).length]))
    tallies.push(tally)
    // The ballots of the candidates who went last round, and where they are now.
    const previous = rounds.at(-1)
    for (const gone of previous?.eliminated ?? []) {
      const to: Record<string, number> = Object.fromEntries([...alive.map((c) => [c, 0]), ['exhausted', 0]])
      before.forEach((was, i) => {
        if (!('counts' in was) || was.counts !== gone) return
        const is = now[i] as Reading
        const key = 'counts' in is ? is.counts : 'exhausted'
        to[key] = (to[key] as number) + 1
      })
      ;(previous as RcvRound).transfers[gone] = to
    }
    before = now
    const total = [...tally.values()].reduce((a, b) => a + b, 0)
    const threshold = Math.floor(total / 2) + 1
    const record: RcvRound = {
      round,
      tally: Object.fromEntries(tally),
      continuingVotes: total,
      threshold,
      inactive: Object.fromEntries(
        CAUSES.map((cause) => [cause, now.filter((r) => 'inactive' in r && r.inactive === cause).length]),
      ) as Record<Cause, number>,
      eliminated: [],
      batchElimination: false,
      transfers: {},
    }
    rounds.push(record)
    const done = (winner: string): RcvResult => {
      record.elected = winner
      const undervotes = now.filter((r) => 'undervote' in r).length
      return { candidates, ballots: ballots.length, undervotes, rounds, winner }
    }
    if (alive.length === 1) return done(alive[0] as string)
    const majority = alive.find((c) => (tally.get(c) as number) >= threshold)
    if (majority) return done(majority)
    if (alive.length === 2) {
      record.tiebreak = settle(rules, 'election', alive, round, tallies)
      return done(record.tiebreak.selected)
    }
    // Lowest first; the largest group of lowest (two or more, ending where the tally changes)
    // whose sum is below the next candidate's tally goes at once.
    const low = [...alive].sort((a, b) => (tally.get(a) as number) - (tally.get(b) as number))
    let losers: string[] = []
    if (rules.batchElimination) {
      for (let k = low.length - 1; k >= 2 && losers.length === 0; k--) {
        const next = tally.get(low[k] as string) as number
        const sum = low.slice(0, k).reduce((a, c) => a + (tally.get(c) as number), 0)
        if (tally.get(low[k - 1] as string) !== next && sum < next) losers = low.slice(0, k)
      }
    }
    if (losers.length > 1) record.batchElimination = true
    else {
      const fewest = tally.get(low[0] as string) as number
      const tied = alive.filter((c) => tally.get(c) === fewest)
      if (tied.length > 1) record.tiebreak = settle(rules, 'elimination', tied, round, tallies)
      losers = [record.tiebreak?.selected ?? (tied[0] as string)]
    }
    record.eliminated = candidates.filter((c) => losers.includes(c))
    for (const l of losers) continuing.delete(l)
  }
}
