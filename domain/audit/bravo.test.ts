import { describe, expect, it } from 'vitest'
import type { ContestRules } from '../contests.ts'
import { uniform } from '../simulation-random.ts'
import {
  type BallotInterpretation,
  ballotSide,
  binomialQuantile,
  bravoAsn,
  bravoAudit,
  bravoContestRoundSize,
  bravoExpectedSampleSize,
  bravoRoundSize,
  countedSelections,
  normalQuantile,
  pairLogFactors,
  type ReportedContest,
  reportedPairs,
  reportedWinners,
} from './bravo.ts'

function candidateRules(id: string, candidates: string[], seats = 1, votesAllowed = seats): ContestRules {
  return {
    id,
    name: id,
    type: 'candidate',
    district: 'all',
    position: 0,
    votesAllowed,
    numberElected: seats,
    writeIns: false,
    selections: candidates.map((c) => ({ id: c, name: c, party: null, writeIn: false })),
    threshold: null,
  }
}

function measureRules(id: string, numerator: number, denominator: number): ContestRules {
  return {
    id,
    name: id,
    type: 'measure',
    district: 'all',
    position: 0,
    votesAllowed: 1,
    numberElected: 1,
    writeIns: false,
    selections: ['yes', 'no'].map((s) => ({ id: s, name: s, party: null, writeIn: false })),
    threshold: { numerator, denominator },
  }
}

/** `counts` ballots marked each way, in one array (one object per kind, shared: the simulations hold 10,000s). */
function papers(contestId: string, counts: Array<[string[], number]>): BallotInterpretation[] {
  return counts.flatMap(([marks, n]) => Array<BallotInterpretation>(n).fill({ [contestId]: marks }))
}

/** Draws with replacement, from the simulator's seeded hash (fast; the SHA-256 sampler is tested apart). */
function draw(seed: number, k: number, n: number): number {
  return Math.floor(uniform(seed, k, 0x5a17) * n)
}

const mayor = (votes: Record<string, number>, ballots: number): ReportedContest => ({
  rules: candidateRules('mayor', Object.keys(votes)),
  votes,
  ballots,
})

describe('the reported outcome as pairs', () => {
  it('pairs every winner with every loser (vote for 2 of 4)', () => {
    const c: ReportedContest = {
      rules: candidateRules('council', ['a', 'b', 'c', 'd'], 2),
      votes: { a: 500, b: 400, c: 300, d: 100 },
      ballots: 700,
    }
    expect(reportedPairs(c).map((p) => `${p.winner}>${p.loser}`)).toEqual(['a>c', 'a>d', 'b>c', 'b>d'])
  })

  it('tests a measure against its threshold, on the side that was reported', () => {
    const passed = reportedPairs({ rules: measureRules('bond', 2, 3), votes: { yes: 700, no: 300 }, ballots: 1000 })
    expect(passed).toEqual([{ winner: 'yes', loser: 'no', winnerVotes: 700, loserVotes: 300, nullShare: 2 / 3 }])
    const failed = reportedPairs({ rules: measureRules('bond', 2, 3), votes: { yes: 600, no: 400 }, ballots: 1000 })
    expect(failed[0]?.winner).toBe('no')
    expect(failed[0]?.nullShare).toBeCloseTo(1 / 3, 12)
  })

  it('reads a ballot by the tabulation rule: an overvote counts for no one, a ballot for both sides of a pair for neither', () => {
    const rules = candidateRules('council', ['a', 'b', 'c'], 2)
    const [ac, bc] = reportedPairs({ rules, votes: { a: 3, b: 2, c: 1 }, ballots: 6 }) as [never, never]
    expect(ballotSide(ac, countedSelections(rules, ['a', 'b']))).toBe(1)
    expect(ballotSide(ac, countedSelections(rules, ['a', 'c']))).toBe(0)
    expect(ballotSide(bc, countedSelections(rules, ['a']))).toBe(0)
    expect(ballotSide(bc, countedSelections(rules, ['c']))).toBe(-1)
    expect(ballotSide(ac, countedSelections(rules, ['a', 'b', 'c']))).toBe(0)
    expect(ballotSide(ac, countedSelections(rules, undefined))).toBe(0)
  })
})

describe('literature values', () => {
  // The ASN formula is the BRAVO paper's (Lindeman, Stark, Yates 2012, "Expected sample
  // size"); the numbers are those Arlo's tests hold for it (votingworks/arlo,
  // server/tests/audit_math/test_bravo.py, test_expected_sample_sizes, risk limit 10 %).
  it('ASN: 119 ballots for 60/40 at α = 10 %', () => {
    expect(bravoAsn(0.6, 0.4, 0.1)).toBeCloseTo(118.88, 2)
    expect(bravoExpectedSampleSize(mayor({ a: 600, b: 400 }, 1000), 0.1)).toBe(119)
  })

  it("ASN: Arlo's other contests (22, 238; 101 and 48 with two seats; 1769)", () => {
    expect(bravoExpectedSampleSize(mayor({ a: 600, b: 200, c: 100 }, 900), 0.1)).toBe(22)
    expect(bravoExpectedSampleSize(mayor({ a: 300, b: 200, c: 200 }, 1000), 0.1)).toBe(238)
    const two = (votes: Record<string, number>, ballots: number) => ({ rules: candidateRules('c', Object.keys(votes), 2), votes, ballots })
    expect(bravoExpectedSampleSize(two({ a: 300, b: 200, c: 100 }, 700), 0.1)).toBe(101)
    expect(bravoExpectedSampleSize(two({ a: 600, b: 300, c: 100 }, 1000), 0.1)).toBe(48)
    expect(bravoExpectedSampleSize(mayor({ a: 10000, b: 9000, c: 200 }, 20000), 0.1)).toBe(1769)
  })

  it('ASN: no margin, no finite sample', () => {
    expect(bravoAsn(0.5, 0.5, 0.05)).toBe(Number.POSITIVE_INFINITY)
    expect(bravoExpectedSampleSize(mayor({ a: 500, b: 500 }, 1000), 0.05)).toBe(Number.POSITIVE_INFINITY)
  })

  // Round sizes: Mark Lindeman's binomial method; the values are Arlo's
  // (test_bravo.py: test_bravo_sample_sizes, test_bravo_sample_sizes_small_prob,
  // test_bravo_sample_sizes_round1_incomplete/_finish, and true_sample_sizes for test1,
  // test2, test6 and test_small_third_candidate), α = 10 %.
  it("round sizes: Arlo's values, to the ballot", () => {
    const cases: Array<[number, number, number, number]> = [
      [0.6, 0.4, 0.9, 351],
      [0.6, 0.4, 0.8, 244],
      [0.6, 0.4, 0.7, 184],
      [0.4, 0.32, 0.9, 1599],
      [0.36, 0.32, 0.9, 6067],
      [0.52, 0.47, 0.9, 5657],
      [0.4, 0.32, 0.4, 409],
      [600 / 900, 200 / 900, 0.9, 57],
      [0.3, 0.2, 0.9, 702],
      [0.5, 0.45, 0.9, 5426],
    ]
    for (const [pw, pl, q, expected] of cases) expect(bravoRoundSize(pw, pl, 0.1, q), `${pw}/${pl} at ${q}`).toBe(expected)
    // Arlo says 2476: the same 1,683 ballots for either, divided by 0.36 + 0.32, which its
    // 28-digit Decimal holds as 0.67999999999999999334 (the doubles' exact sum), a hair
    // under 0.68, so 2475.00000000000002 rounds up. In doubles the quotient is 2475.
    expect(bravoRoundSize(0.36, 0.32, 0.1, 0.6)).toBe(2475)
    expect(bravoRoundSize(0.52, 0.47, 0.1, 0.9, { sampledWinner: 2923, sampledLoser: 2735 })).toBe(2636)
    expect(bravoRoundSize(0.52, 0.47, 0.1, 0.9, { sampledWinner: 10000, sampledLoser: 0 })).toBe(0)
  })

  // Arlo's test_compute_risk: the measured risk (1/T) after its round-1 samples.
  it("T: Arlo's measured risks after a sample", () => {
    const [one] = bravoAudit(
      [mayor({ a: 600, b: 400 }, 1000)],
      0.1,
      papers('mayor', [
        [['a'], 72],
        [['b'], 47],
      ]),
    )
    expect(one?.pairs[0]?.pValue).toBeCloseTo(0.0714, 3) // Arlo: 0.07
    expect(one?.pairs[0]?.T).toBeCloseTo(1.2 ** 72 * 0.8 ** 47, 6)
    expect(one?.status).toBe('confirmed')
    const two = {
      rules: candidateRules('c', ['c1', 'c2', 'c3'], 2),
      votes: { c1: 300, c2: 200, c3: 100 },
      ballots: 700,
    }
    const [r] = bravoAudit(
      [two],
      0.1,
      papers('c', [
        [['c1'], 30],
        [['c2'], 25],
        [['c3'], 10],
      ]),
    )
    expect(r?.pairs.map((p) => [`${p.winner}>${p.loser}`, Number(p.pValue.toFixed(2))])).toEqual([
      ['c1>c3', 0.01],
      ['c2>c3', 0.04],
    ])
    expect(r?.status).toBe('confirmed')
  })

  it('normal and binomial quantiles agree with tables', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6)
    expect(normalQuantile(0.1)).toBeCloseTo(-1.281552, 6)
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 6)
    // Binomial(10, ½): P(X ≤ 2) = 56/1024 < 0.1 ≤ P(X ≤ 3) = 176/1024.
    expect(binomialQuantile(0.1, 10, 0.5)).toBe(3)
    expect(binomialQuantile(176 / 1024, 10, 0.5)).toBe(3)
    expect(binomialQuantile(0.5, 6000, 0.53)).toBe(3180)
  })
})

describe('the decision', () => {
  const c = mayor({ a: 600, b: 400 }, 1000)

  it('escalates while T is below 1/α, and asks for a full count at the limit', () => {
    const sample = papers('mayor', [
      [['a'], 10],
      [['b'], 10],
    ])
    expect(bravoAudit([c], 0.05, sample)[0]?.status).toBe('escalate')
    expect(bravoAudit([c], 0.05, sample, { fullCountAt: 20 })[0]).toMatchObject({ status: 'full-hand-count-needed', sampleSize: 20 })
  })

  it('cannot confirm a tie, whatever the sample', () => {
    const tie = mayor({ a: 500, b: 500 }, 1000)
    const [r] = bravoAudit([tie], 0.05, papers('mayor', [[['a'], 500]]))
    expect(r?.status).toBe('full-hand-count-needed')
    expect(r?.reason).toMatch(/no margin/)
  })

  it('treats a ballot without the contest as a vote for neither', () => {
    const sample = [...papers('mayor', [[['a'], 72]]), ...papers('other', [[['x'], 500]]), ...papers('mayor', [[['b'], 47]])]
    const [r] = bravoAudit([c], 0.1, sample)
    expect(r?.sampleSize).toBe(619)
    expect(r?.pairs[0]).toMatchObject({ winnerBallots: 72, loserBallots: 47 })
  })

  it('tests a 2/3 measure against 2/3, not ½: a sample at 60 % yes never confirms a reported pass', () => {
    const bond: ReportedContest = { rules: measureRules('bond', 2, 3), votes: { yes: 750, no: 250 }, ballots: 1000 }
    const f = pairLogFactors(reportedPairs(bond)[0] as never)
    expect(f.winner).toBeCloseTo(Math.log(0.75 / (2 / 3)), 12)
    expect(f.loser).toBeCloseTo(Math.log(0.25 / (1 / 3)), 12)
    // 60 % yes would confirm a simple-majority pass, but is short of 2/3: T falls.
    const [r] = bravoAudit(
      [bond],
      0.05,
      papers('bond', [
        [['yes'], 600],
        [['no'], 400],
      ]),
    )
    expect(r?.pairs[0]?.T).toBeLessThan(1e-3)
    const [ok] = bravoAudit(
      [bond],
      0.05,
      papers('bond', [
        [['yes'], 300],
        [['no'], 100],
      ]),
    )
    expect(ok?.status).toBe('confirmed')
  })
})

/**
 * The sequential test, ballot by ballot, as the BRAVO paper runs it: the draw at which every
 * pair has reached T ≥ 1/α, or undefined if none before `limit`.
 */
function stoppingDraw(
  contest: ReportedContest,
  box: BallotInterpretation[],
  alpha: number,
  seed: number,
  limit: number,
): number | undefined {
  const pairs = reportedPairs(contest)
  const factors = pairs.map(pairLogFactors)
  const logT = pairs.map(() => 0)
  const bar = Math.log(1 / alpha)
  for (let k = 1; k <= limit; k++) {
    const counted = countedSelections(contest.rules, box[draw(seed, k, box.length)]?.[contest.rules.id])
    for (const [i, p] of pairs.entries()) {
      const side = ballotSide(p, counted)
      if (side !== 0) logT[i] = (logT[i] ?? 0) + (side === 1 ? factors[i]?.winner : factors[i]?.loser)!
    }
    if (logT.every((t) => t >= bar)) return k
  }
  return undefined
}

/** The audit as the workflow will run it: rounds of the 90 % size, re-estimated from the sample, until a decision. */
function roundAudit(contest: ReportedContest, box: BallotInterpretation[], alpha: number, seed: number, fullCountAt: number) {
  const sample: BallotInterpretation[] = []
  let result = bravoAudit([contest], alpha, sample, { fullCountAt })[0]!
  let rounds = 0
  while (result.status === 'escalate') {
    rounds++
    const size = bravoContestRoundSize(contest, alpha, 0.9, result)
    const target = Math.min(fullCountAt, sample.length + Math.max(1, Number.isFinite(size) ? size : fullCountAt))
    while (sample.length < target) sample.push(box[draw(seed, sample.length + 1, box.length)] as BallotInterpretation)
    result = bravoAudit([contest], alpha, sample, { fullCountAt })[0]!
  }
  return { ...result, rounds }
}

/** A full hand count: every paper ballot, by the public results' own rules. */
function handCount(contest: ReportedContest, box: BallotInterpretation[]) {
  const total: Record<string, number> = {}
  for (const b of box) for (const s of countedSelections(contest.rules, b[contest.rules.id])) total[s] = (total[s] ?? 0) + 1
  return reportedWinners(contest.rules, total)
}

describe('simulations (seeded)', () => {
  it('(a) a correct 60/40 outcome stops on average near the ASN of 119 (α = 10 %, 200 runs)', () => {
    const contest = mayor({ a: 6000, b: 4000 }, 10000)
    const box = papers('mayor', [
      [['a'], 6000],
      [['b'], 4000],
    ])
    const stops = Array.from({ length: 200 }, (_, seed) => stoppingDraw(contest, box, 0.1, seed, 10000))
    expect(stops.every((s) => s !== undefined)).toBe(true)
    const mean = stops.reduce((a: number, s) => a + (s ?? 0), 0) / stops.length
    // Wald's approximation; the paper's simulations (its Table 1) land near it too.
    expect(mean).toBeGreaterThan(0.75 * 119)
    expect(mean).toBeLessThan(1.25 * 119)
    // The stopping draw is where bravoAudit itself says confirmed, and not one draw earlier.
    const seed = 7
    const at = stops[seed] as number
    const sample = Array.from({ length: at }, (_, i) => box[draw(seed, i + 1, box.length)] as BallotInterpretation)
    expect(bravoAudit([contest], 0.1, sample)[0]?.status).toBe('confirmed')
    expect(bravoAudit([contest], 0.1, sample.slice(0, -1))[0]?.status).toBe('escalate')
    console.info(`BRAVO 60/40, α=0.1, 200 runs: mean stopping draw ${mean.toFixed(1)} (ASN 119)`)
  })

  it('(a) the 90 % round size (351 for 60/40, α = 10 %) confirms in its first round about 9 times in 10', () => {
    const contest = mayor({ a: 6000, b: 4000 }, 10000)
    const box = papers('mayor', [
      [['a'], 6000],
      [['b'], 4000],
    ])
    const size = bravoContestRoundSize(contest, 0.1, 0.9)
    expect(size).toBe(351)
    let confirmed = 0
    for (let seed = 0; seed < 200; seed++) {
      const sample = Array.from({ length: size }, (_, i) => box[draw(seed, i + 1, box.length)] as BallotInterpretation)
      if (bravoAudit([contest], 0.1, sample)[0]?.status === 'confirmed') confirmed++
    }
    // 0.9 guaranteed by the exact binomial quantile; 200 runs: sd ≈ 2 points.
    expect(confirmed / 200).toBeGreaterThanOrEqual(0.85)
    console.info(`BRAVO 60/40 round of ${size}: confirmed in round 1 in ${confirmed}/200 runs`)
  })

  it('(a) a correct vote-for-2 contest confirms every pair, in rounds', () => {
    const contest: ReportedContest = {
      rules: candidateRules('council', ['a', 'b', 'c'], 2),
      votes: { a: 5000, b: 4500, c: 3000 },
      ballots: 8000,
    }
    const box = papers('council', [
      [['a', 'b'], 3000],
      [['a', 'c'], 1500],
      [['b', 'c'], 1500],
      [['a'], 500],
      [[], 1500],
    ])
    let draws = 0
    for (let seed = 0; seed < 50; seed++) {
      const r = roundAudit(contest, box, 0.05, seed, 8000)
      expect(r.status).toBe('confirmed')
      draws += r.sampleSize
    }
    console.info(`BRAVO vote-for-2 (a 5000, b 4500, c 3000 of 8000), α=0.05: mean sample ${(draws / 50).toFixed(0)} over 50 runs`)
  })

  it('(b) a reversed outcome (reported 52/48, truly 40/60) never confirms in 100 runs: each goes to a full count, which finds the true winner', () => {
    // Under the truth, T_n^θ is a martingale for the θ with 0.4·1.04^θ + 0.6·0.96^θ = 1
    // (θ ≈ 11), so P(T ever ≥ 20) ≤ 20^−11 < 1e-14 per run: "never" is the sound claim here.
    const contest = mayor({ a: 5200, b: 4800 }, 10000)
    const box = papers('mayor', [
      [['a'], 4000],
      [['b'], 6000],
    ])
    for (let seed = 0; seed < 100; seed++) {
      const r = roundAudit(contest, box, 0.05, seed, 2500)
      expect(r.status, `seed ${seed}`).toBe('full-hand-count-needed')
    }
    expect(handCount(contest, box).winners).toEqual(['b'])
  })

  it('(b) a barely wrong outcome (reported 60/40, truly 4,990 to 5,010) is confirmed in at most α of 1,000 runs', () => {
    // The risk limit is the guarantee: P(confirm) ≤ α = 5 % when the outcome is wrong (near
    // the tie, BRAVO's real risk is close to it). 1,000 runs: sd ≈ 0.7 points; the bound
    // allows 2 points over α so that a correct implementation fails by chance < 0.2 % of the time.
    const contest = mayor({ a: 6000, b: 4000 }, 10000)
    const box = papers('mayor', [
      [['a'], 4990],
      [['b'], 5010],
    ])
    let confirmed = 0
    let draws = 0
    for (let seed = 0; seed < 1000; seed++) {
      const r = roundAudit(contest, box, 0.05, seed, 2500)
      if (r.status === 'confirmed') confirmed++
      else expect(r.status).toBe('full-hand-count-needed')
      draws += r.sampleSize
    }
    expect(confirmed / 1000).toBeLessThanOrEqual(0.07)
    // Every run that did not confirm went to the full count, and the count names b.
    expect(handCount(contest, box).winners).toEqual(['b'])
    console.info(`BRAVO wrong 60/40 (truly 49.9/50.1), α=0.05: confirmed ${confirmed}/1000, mean draws ${(draws / 1000).toFixed(0)}`)
  })

  it('(b) a measure reported passing at 2/3 that truly got 64 % yes never confirms in 100 runs', () => {
    const bond: ReportedContest = { rules: measureRules('bond', 2, 3), votes: { yes: 7500, no: 2500 }, ballots: 10000 }
    const box = papers('bond', [
      [['yes'], 6000],
      [['no'], 3400],
      [[], 600],
    ])
    for (let seed = 0; seed < 100; seed++) expect(roundAudit(bond, box, 0.05, seed, 3000).status).toBe('full-hand-count-needed')
    expect(handCount(bond, box).passes).toBe(false)
  })
})

describe('claims no pair tests, and numbers that must not run away (found in review)', () => {
  it('sends a contest reported with no votes, or with a seat nobody got a vote for, to a full count', () => {
    const blank: ReportedContest = { rules: candidateRules('c', ['a', 'b']), votes: {}, ballots: 1000 }
    // The papers say a won: a scanner that read the contest as blank must not pass its audit.
    const [r] = bravoAudit([blank], 0.05, papers('c', [[['a'], 50]]))
    expect(r?.status).toBe('full-hand-count-needed')
    const twoSeats: ReportedContest = { rules: candidateRules('c', ['a', 'b', 'c'], 2), votes: { a: 1000 }, ballots: 1000 }
    expect(bravoAudit([twoSeats], 0.05, papers('c', [[['a'], 50]]))[0]?.status).toBe('full-hand-count-needed')
    const noVotesOnMeasure: ReportedContest = { rules: measureRules('m', 1, 2), votes: {}, ballots: 1000 }
    expect(bravoAudit([noVotesOnMeasure], 0.05, papers('m', [[['yes'], 50]]))[0]?.status).toBe('full-hand-count-needed')
  })

  it('sizes a round normally when a losing line got no vote (0 × −∞ is no evidence)', () => {
    const withEmptyLine = mayor({ a: 600, b: 400, c: 0 }, 1000)
    const without = mayor({ a: 600, b: 400 }, 1000)
    const size = bravoContestRoundSize(withEmptyLine, 0.1, 0.9)
    expect(Number.isFinite(size)).toBe(true)
    expect(size).toBe(bravoContestRoundSize(without, 0.1, 0.9))
  })

  it('answers "more than the cap" at once for a near tie instead of searching n one at a time', () => {
    const started = performance.now()
    expect(bravoRoundSize(0.45, 0.44995, 0.05, 0.9, { cap: 500_000 })).toBe(Number.POSITIVE_INFINITY)
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(() => bravoRoundSize(0.6, 0.4, 1e-320, 0.9)).toThrow(RangeError)
  })
})

describe('a round from the counts of the rounds before it', () => {
  it('decides exactly as the whole sample does, and refuses a record that lacks a pair', () => {
    const contest = mayor({ a: 600, b: 380, c: 20 }, 1000)
    const box = papers('mayor', [
      [['a'], 60],
      [['b'], 38],
      [['c'], 2],
      [[], 5],
    ])
    for (let seed = 1; seed <= 20; seed++) {
      const sample = Array.from({ length: 300 }, (_, k) => box[draw(seed, k, box.length)] ?? {})
      const cut = 40 + seed * 7
      const [first] = bravoAudit([contest], 0.05, sample.slice(0, cut))
      if (!first) throw new Error('no result')
      const before = { draws: cut, contests: [{ contestId: 'mayor', pairs: first.pairs }] }
      const split = bravoAudit([contest], 0.05, sample.slice(cut), { before })
      const whole = bravoAudit([contest], 0.05, sample)
      expect(split).toEqual(whole)
    }
    const lacking = {
      draws: 10,
      contests: [{ contestId: 'mayor', pairs: [{ winner: 'a', loser: 'b', winnerBallots: 6, loserBallots: 4 }] }],
    }
    expect(() => bravoAudit([contest], 0.05, [], { before: lacking })).toThrow(/a over c/)
  })
})
