import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Ranking } from './ballot.ts'
import { decideRankedCall, RANKED_CALL_RULES, rankedCallContradiction } from './calls.ts'
import { plainTabulate } from './plain-tabulate.ts'
import { type RcvRules, rcvRulesSchema } from './rules.ts'
import { tabulate } from './tabulate.ts'

/**
 * Race calls of a ranked contest: hand-computed cases of the round-1 bound, and a property
 * test that no call made part-way through a count is contradicted by the final rounds,
 * whatever the remaining ballots rank.
 */

const rules = rcvRulesSchema.parse({
  ranksAllowed: 3,
  overvoteRule: 'alwaysSkipToNextRank',
  maxSkippedRanksAllowed: 'unlimited',
  tiebreakMode: 'random',
  tiebreakSeed: '42',
})
const candidates = ['ann', 'bo', 'cy']
const ballots = (spec: Array<[Ranking, number]>): Ranking[] => spec.flatMap(([r, n]) => Array.from({ length: n }, () => r))

describe('decideRankedCall: hand-computed', () => {
  // 60 ann, 30 bo, 10 cy in round 1: 100 continuing votes.
  const counted = tabulate(
    rules,
    candidates,
    ballots([
      [[['ann']], 60],
      [[['bo'], ['ann']], 30],
      [[['cy'], ['bo']], 10],
    ]),
  )

  it('calls a round-1 majority that survives every outstanding ballot: 2·60 > 100 + 19', () => {
    expect(decideRankedCall('mayor', counted, { outstanding: 19 }, [])).toEqual({
      contestId: 'mayor',
      selectionId: 'ann',
      outcome: 'elected',
      rule: RANKED_CALL_RULES.roundOneMajority,
      figures: { votes: 60, against: 40, outstanding: 19 },
    })
  })

  it('does not call when the outstanding ballots could take the majority away: 2·60 = 100 + 20', () => {
    expect(decideRankedCall('mayor', counted, { outstanding: 20 }, [])).toBeNull()
  })

  it('calls the final rounds once nothing is outstanding, even when the winner needed transfers', () => {
    // 40 ann, 35 bo, 25 cy whose next choice is bo: bo wins in round 2.
    const late = tabulate(
      rules,
      candidates,
      ballots([
        [[['ann']], 40],
        [[['bo']], 35],
        [[['cy'], ['bo']], 25],
      ]),
    )
    expect(decideRankedCall('mayor', late, { outstanding: 1 }, [])).toBeNull()
    expect(decideRankedCall('mayor', late, { outstanding: 0 }, [])).toMatchObject({
      selectionId: 'bo',
      rule: RANKED_CALL_RULES.everyBallotCounted,
    })
  })

  it('calls nothing without a bound, twice, or before any ranking counts', () => {
    expect(decideRankedCall('mayor', counted, null, [])).toBeNull()
    expect(decideRankedCall('mayor', counted, { outstanding: 0 }, [{ selectionId: 'ann' }])).toBeNull()
    expect(decideRankedCall('mayor', tabulate(rules, candidates, ballots([[[], 5]])), { outstanding: 0 }, [])).toBeNull()
  })

  it('calls nobody when every ballot is inactive (a tie-break among zeros elects no one)', () => {
    const strict = rcvRulesSchema.parse({ ...rules, overvoteRule: 'exhaustImmediately' })
    const inactive = tabulate(strict, candidates, ballots([[[['ann', 'bo']], 12]]))
    expect(inactive.rounds.at(-1)?.continuingVotes).toBe(0)
    expect(decideRankedCall('mayor', inactive, { outstanding: 0 }, [])).toBeNull()
  })

  it('names a call the rounds contradict', () => {
    expect(rankedCallContradiction({ selectionId: 'ann' }, counted)).toBeNull()
    expect(rankedCallContradiction({ selectionId: 'bo' }, counted)).toBe('the rounds elect ann in round 1, not bo')
  })
})

const NAMES = ['ann', 'bo', 'cy', 'di', 'ed']
const rulesArb = fc.record({
  ranksAllowed: fc.integer({ min: 1, max: 4 }),
  numberElected: fc.constant(1),
  overvoteRule: fc.constantFrom('exhaustImmediately', 'alwaysSkipToNextRank'),
  maxSkippedRanksAllowed: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant('unlimited' as const)),
  duplicateRankingRule: fc.constantFrom('skipDuplicate', 'exhaustOnDuplicate'),
  batchElimination: fc.boolean(),
  tiebreakMode: fc.constantFrom('random', 'previousRoundCountsThenRandom'),
  tiebreakSeed: fc.constantFrom('1', 'dice 3 4', 'x'),
}) as fc.Arbitrary<RcvRules>

const rankingArb = (candidates: string[], ranks: number) =>
  fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...candidates).map((c) => [c]) },
      { weight: 1, arbitrary: fc.constant([] as string[]) },
      { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom(...candidates), { minLength: 2, maxLength: 2 }) },
    ),
    { maxLength: ranks },
  )

describe('decideRankedCall: never wrong', () => {
  it('no call made after any prefix of the count is contradicted by the final rounds (2,000 random counts)', () => {
    let calls = 0
    fc.assert(
      fc.property(
        rulesArb.chain((r) =>
          fc.record({
            rules: fc.constant(r),
            size: fc.integer({ min: 2, max: 5 }),
            // A popular candidate now and then, so that round-1 majorities (and early calls) happen.
            ballots: fc.array(rankingArb(NAMES, r.ranksAllowed), { minLength: 1, maxLength: 60 }),
            favourite: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
            cut: fc.integer({ min: 0, max: 60 }),
          }),
        ),
        ({ rules: r, size, ballots: raw, favourite, cut }) => {
          const names = NAMES.slice(0, size)
          const fav = favourite && names.includes(favourite) ? favourite : undefined
          const all = raw.map((ranking, i) =>
            ranking.map((rank) => rank.filter((c) => names.includes(c))).map((rank, j) => (fav && j === 0 && i % 2 === 0 ? [fav] : rank)),
          )
          const at = Math.min(cut, all.length)
          const sofar = tabulate(r, names, all.slice(0, at))
          const decision = decideRankedCall('c', sofar, { outstanding: all.length - at }, [])
          if (!decision) return
          calls++
          // The final rounds, by the plain count that shares nothing with tabulate.ts.
          const final = plainTabulate(r, names, all)
          expect(final.winner, JSON.stringify({ decision, at, n: all.length })).toBe(decision.selectionId)
        },
      ),
      { numRuns: 2_000, seed: 27 },
    )
    // The property is only worth something if calls were made.
    expect(calls).toBeGreaterThan(200)
  })
})
