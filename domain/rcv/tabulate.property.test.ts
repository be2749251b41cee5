import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Ranking } from './ballot.ts'
import { CAUSES, plainTabulate } from './plain-tabulate.ts'
import type { RcvRules } from './rules.ts'
import { aggregateRankings, type RcvRound, tabulate, tabulatePatterns } from './tabulate.ts'

/**
 * Random elections — 1 to 6 candidates, every rule variant, few ballots (so ties are
 * common), rankings with blanks, overvotes and repeats, often short (heavy exhaustion) —
 * tabulated by tabulate.ts and by the plain count of plain-tabulate.ts, which shares nothing
 * with it but the types.
 */

const NAMES = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay']

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
