import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Ranking } from './ballot.ts'
import type { RcvRules } from './rules.ts'
import { aggregateRankings, type RcvResult, type RcvRound, type RcvTiebreak, tabulate, tabulatePatterns } from './tabulate.ts'

/**
 * Random elections — 1 to 6 candidates, every rule variant, few ballots (so ties are
 * common), rankings with blanks, overvotes and repeats, often short (heavy exhaustion) —
 * tabulated by tabulate.ts and by the plain count below, which shares nothing with it but
 * the types: ballot by ballot, every ballot read again from its first rank every round,
 * against a Set of the continuing candidates, as the rules say it in words.
 */

const NAMES = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay']
const CAUSES = ['overvotes', 'skippedRankings', 'exhaustedChoices', 'repeatedRankings'] as const
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

function draw(seed: string, round: number, tied: string[]) {
  return tied
    .map((candidate) => ({ candidate, sha256: createHash('sha256').update(`${seed}:${round}:${candidate}`).digest('hex') }))
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

function plainTabulate(rules: RcvRules, candidates: string[], ballots: Ranking[]): RcvResult {
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

const rulesArb = fc.record({
  ranksAllowed: fc.integer({ min: 1, max: 5 }),
  numberElected: fc.constant(1),
  overvoteRule: fc.constantFrom('exhaustImmediately', 'alwaysSkipToNextRank'),
  maxSkippedRanksAllowed: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant('unlimited' as const)),
  duplicateRankingRule: fc.constantFrom('skipDuplicate', 'exhaustOnDuplicate'),
  batchElimination: fc.boolean(),
  tiebreakMode: fc.constantFrom('random', 'previousRoundCountsThenRandom'),
  tiebreakSeed: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/\p{Cc}/u.test(s)),
}) as fc.Arbitrary<RcvRules>

/** A ranking: mostly single marks, some blanks and overvotes, repeats by chance; often short. */
const rankingArb = (candidates: string[], ranksAllowed: number) =>
  fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...candidates).map((c) => [c]) },
      { weight: 2, arbitrary: fc.constant([] as string[]) },
      // An overvote needs two candidates (a unique array of two from one would never be drawn).
      ...(candidates.length < 2
        ? []
        : [
            {
              weight: 1,
              arbitrary: fc.uniqueArray(fc.constantFrom(...candidates), { minLength: 2, maxLength: Math.min(3, candidates.length) }),
            },
          ]),
    ),
    { maxLength: ranksAllowed },
  )

const electionArb = fc.record({ rules: rulesArb, size: fc.integer({ min: 1, max: 6 }) }).chain(({ rules, size }) => {
  const candidates = NAMES.slice(0, size)
  // Distinct rankings with how many cast each: few ballots, so ties and near-ties abound.
  const groups = fc.array(fc.record({ ranking: rankingArb(candidates, rules.ranksAllowed), count: fc.integer({ min: 1, max: 6 }) }), {
    maxLength: 14,
  })
  return fc.record({ rules: fc.constant(rules), candidates: fc.constant(candidates), groups })
})

const expand = (groups: { ranking: Ranking; count: number }[]): Ranking[] =>
  groups.flatMap((g) => Array.from({ length: g.count }, () => g.ranking))

describe('tabulation against a plain count', () => {
  it('agrees round by round, transfer by transfer, tie-break by tie-break, in 400 seeded elections', () => {
    let ties = 0
    let batches = 0
    let inactive = 0
    fc.assert(
      fc.property(electionArb, ({ rules, candidates, groups }) => {
        const ballots = expand(groups)
        const result = tabulate(rules, candidates, ballots)
        expect(result).toEqual(plainTabulate(rules, candidates, ballots))
        ties += result.rounds.filter((r) => r.tiebreak).length
        batches += result.rounds.filter((r) => r.batchElimination).length
        inactive += CAUSES.reduce((a, c) => a + (result.rounds.at(-1)?.inactive[c] ?? 0), 0)
      }),
      { numRuns: 400, seed: 27 },
    )
    // The elections are the ones the test means: ties, batches and exhaustion all occur.
    expect(ties).toBeGreaterThan(50)
    expect(batches).toBeGreaterThan(10)
    expect(inactive).toBeGreaterThan(200)
  })
})

describe('invariants', () => {
  it('each round accounts for every ballot; continuing tallies never fall; one winner, in the last round', () => {
    fc.assert(
      fc.property(electionArb, ({ rules, candidates, groups }) => {
        const result = tabulate(rules, candidates, expand(groups))
        let last: RcvRound | undefined
        for (const r of result.rounds) {
          const inactive = CAUSES.reduce((a, c) => a + r.inactive[c], 0)
          expect(r.continuingVotes + inactive + result.undervotes).toBe(result.ballots)
          expect(Object.values(r.tally).reduce((a, b) => a + b, 0)).toBe(r.continuingVotes)
          for (const [c, v] of Object.entries(r.tally)) if (last) expect(v).toBeGreaterThanOrEqual(last.tally[c] as number)
          // What left the eliminated arrives somewhere: Σ transfers = their tallies.
          for (const gone of r.eliminated)
            expect(Object.values(r.transfers[gone] ?? {}).reduce((a, b) => a + b, 0)).toBe(r.tally[gone] as number)
          last = r
        }
        expect(last?.elected).toBe(result.winner)
        expect(result.rounds.filter((r) => r.elected !== undefined)).toHaveLength(1)
      }),
      { numRuns: 300, seed: 2021 },
    )
  })

  it('counting per distinct ranking gives what counting per ballot gives, however the rankings are grouped', () => {
    fc.assert(
      fc.property(electionArb, ({ rules, candidates, groups }) => {
        const ballots = expand(groups)
        const byBallot = tabulate(rules, candidates, ballots)
        expect(tabulatePatterns(rules, candidates, aggregateRankings(candidates, ballots))).toEqual(byBallot)
        // The generator's groups repeat rankings and list ballots in another order: the same.
        expect(tabulatePatterns(rules, candidates, [...groups].reverse())).toEqual(byBallot)
      }),
      { numRuns: 300, seed: 2028 },
    )
  })
})
