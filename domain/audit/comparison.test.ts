import { describe, expect, it } from 'vitest'
import type { ContestRules } from '../contests.ts'
import { uniform } from '../simulation-random.ts'
import { type BallotInterpretation, type ReportedContest, reportedWinners } from './bravo.ts'
import {
  type ComparedBallot,
  comparisonAudit,
  comparisonPairs,
  comparisonSampleSize,
  DEFAULT_GAMMA,
  discrepancyKind,
  kaplanMarkovPValue,
  overstatement,
} from './comparison.ts'

function rules(id: string, candidates: string[], seats = 1): ContestRules {
  return {
    id,
    name: id,
    type: candidates[0] === 'yes' ? 'measure' : 'candidate',
    district: 'all',
    position: 0,
    votesAllowed: seats,
    numberElected: seats,
    writeIns: false,
    selections: candidates.map((c) => ({ id: c, name: c, party: null, writeIn: false })),
    threshold: candidates[0] === 'yes' ? { numerator: 2, denominator: 3 } : null,
  }
}

const contestA: ReportedContest = { rules: rules('A', ['winner', 'loser']), votes: { winner: 60000, loser: 40000 }, ballots: 100000 }
const ballot = (contest: string, ...marks: string[]): BallotInterpretation => ({ [contest]: marks })
const same = (b: BallotInterpretation): ComparedBallot => ({ cvr: b, paper: b })

// Arlo's gamma and risk limit (votingworks/arlo, server/audit_math/supersimple.py: γ = 1.03905,
// "used in Stark's tool, AGI, and CORLA"; server/tests/audit_math/test_supersimple.py: α = 10 %).
const ARLO_GAMMA = 1.03905

describe('discrepancies, in votes of the pair', () => {
  const [pair] = comparisonPairs(contestA)
  const r = contestA.rules

  it('classifies as Arlo does (test_supersimple.py: one, two-vote, negative, not found)', () => {
    expect(pair?.margin).toBe(20000)
    expect(pair?.dilutedMargin).toBe(0.2)
    const e = (cvr: BallotInterpretation | null, paper: BallotInterpretation | null) => overstatement(pair!, r, cvr, paper)
    expect(e(ballot('A', 'winner'), ballot('A'))).toBe(1)
    expect(e(ballot('A', 'winner'), ballot('A', 'loser'))).toBe(2)
    expect(e(ballot('A', 'loser'), ballot('A', 'winner'))).toBe(-2)
    expect(e(ballot('A'), ballot('A', 'winner'))).toBe(-1)
    expect(e(ballot('A', 'winner'), null)).toBe(2)
    expect(e(null, ballot('A', 'loser'))).toBe(2)
    // An overvote on paper the CVR read as a vote: a one-vote overstatement.
    expect(e(ballot('A', 'winner'), ballot('A', 'winner', 'loser'))).toBe(1)
    expect([2, 1, 0, -1, -2].map(discrepancyKind)).toEqual(['o2', 'o1', null, 'u1', 'u2'])
  })

  it("audits each winner–loser pair on its own margin (Arlo's two-winner contest)", () => {
    const two: ReportedContest = {
      rules: rules('two', ['winner1', 'winner2', 'loser'], 2),
      votes: { winner1: 600, winner2: 300, loser: 100 },
      ballots: 1000,
    }
    const pairs = comparisonPairs(two)
    expect(pairs.map((p) => [p.winner, p.loser, p.margin])).toEqual([
      ['winner1', 'loser', 500],
      ['winner2', 'loser', 200],
    ])
    const cvr = ballot('two', 'winner2')
    expect(pairs.map((p) => overstatement(p, two.rules, cvr, ballot('two')))).toEqual([0, 1])
  })

  it('weighs a 2/3 measure so that one ballot still overstates by at most two', () => {
    const bond: ReportedContest = { rules: rules('bond', ['yes', 'no']), votes: { yes: 7000, no: 3000 }, ballots: 10000 }
    const [p] = comparisonPairs(bond)
    // yes·(1 − 2/3) − no·2/3 > 0, doubled: 2/3 per yes, 4/3 per no.
    expect(p?.margin).toBeCloseTo((2 / 3) * 7000 - (4 / 3) * 3000, 9)
    expect(overstatement(p!, bond.rules, ballot('bond', 'yes'), ballot('bond', 'no'))).toBeCloseTo(2, 12)
    expect(overstatement(p!, bond.rules, ballot('bond', 'yes'), ballot('bond'))).toBeCloseTo(2 / 3, 12)
    expect(discrepancyKind(2 / 3)).toBe('o1')
    expect(overstatement(p!, bond.rules, ballot('bond'), ballot('bond', 'no'))).toBeCloseTo(4 / 3, 12)
  })
})

describe('literature values', () => {
  // Arlo's expected_p_values (test_supersimple.py, test_compute_risk), γ = 1.03905: the
  // Kaplan–Markov P after its initial sample with no discrepancy, then with ballot 0 a
  // one-vote and a two-vote overstatement.
  it("Kaplan–Markov P: Arlo's values for μ = 0.2 (27 draws) and μ = 1 (6 draws)", () => {
    const clean = (n: number) => Array<number>(n).fill(0)
    expect(kaplanMarkovPValue(0.2, clean(27), ARLO_GAMMA)).toBeCloseTo(0.06507, 5)
    expect(kaplanMarkovPValue(0.2, [1, ...clean(26)], ARLO_GAMMA)).toBeCloseTo(0.12534, 3)
    expect(kaplanMarkovPValue(0.2, [2, ...clean(26)], ARLO_GAMMA)).toBe(1)
    expect(kaplanMarkovPValue(1, clean(6), ARLO_GAMMA)).toBeCloseTo(0.0195, 4)
    expect(kaplanMarkovPValue(1, [1, ...clean(5)], ARLO_GAMMA)).toBeCloseTo(0.03758, 4)
    expect(kaplanMarkovPValue(1, [2, ...clean(5)], ARLO_GAMMA)).toBeCloseTo(0.51877, 3)
    // test_snapshot_test: 16 to 10 of 26 ballots, 18 drawn, none in error.
    expect(kaplanMarkovPValue(6 / 26, clean(18), ARLO_GAMMA)).toBeCloseTo(0.1201733, 4)
  })

  it("initial sample size: the super-simple formula gives Arlo's sizes (27, 54, 36, 40, 6, 14)", () => {
    // Arlo's get_sample_sizes expects discrepancy rates 0.001 (one-vote) and 0.0001
    // (two-vote), rounds the one-vote counts up to 1 and leaves the two-vote ones as they
    // are, then applies this formula; its true_sample_sizes are "from Stark's tool".
    const arloExpected = { o1: 1, u1: 1, o2: 0.0001, u2: 0.0001 }
    const sizes = [0.2, 0.1, 0.15, 2 / 15, 1, 6 / 15].map((mu) => comparisonSampleSize(mu, 0.1, arloExpected, ARLO_GAMMA))
    expect(sizes).toEqual([27, 54, 36, 40, 6, 14])
  })

  it('initial sample size with none expected: ⌈2γ·ln(1/α)/μ⌉, and it meets the limit', () => {
    // γ = 1.1, α = 5 %, μ = 10 %: 2.2 · 2.9957 / 0.1 = 65.9.
    expect(comparisonSampleSize(0.1, 0.05)).toBe(66)
    for (const mu of [0.005, 0.02, 0.1, 0.3])
      for (const alpha of [0.01, 0.05, 0.1])
        for (const o1 of [0, 1, 3]) {
          const n = comparisonSampleSize(mu, alpha, { o1 })
          const sample = [...Array<number>(o1).fill(1), ...Array<number>(n - o1).fill(0)]
          expect(kaplanMarkovPValue(mu, sample), `μ ${mu} α ${alpha} o1 ${o1}`).toBeLessThanOrEqual(alpha)
        }
    expect(comparisonSampleSize(0, 0.05)).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('the decision', () => {
  const contest: ReportedContest = { rules: rules('mayor', ['a', 'b']), votes: { a: 5500, b: 4500 }, ballots: 10000 }
  const clean = (n: number) => Array<ComparedBallot>(n).fill(same(ballot('mayor', 'a')))

  it('confirms a clean initial sample, and escalates on one two-vote overstatement in it', () => {
    const n = comparisonSampleSize(0.1, 0.05)
    expect(comparisonAudit([contest], 0.05, clean(n))[0]).toMatchObject({ status: 'confirmed', sampleSize: 66 })
    // The formula rounds −ln(1 − μ/2γ) down to μ/2γ: the exact P is ≤ α from 65 clean draws.
    expect(comparisonAudit([contest], 0.05, clean(65))[0]?.status).toBe('confirmed')
    expect(comparisonAudit([contest], 0.05, clean(64))[0]?.status).toBe('escalate')
    const flipped = [{ cvr: ballot('mayor', 'a'), paper: ballot('mayor', 'b') }, ...clean(n - 1)]
    const [r] = comparisonAudit([contest], 0.05, flipped)
    expect(r?.status).toBe('escalate')
    expect(r?.discrepancies).toEqual([{ draw: 0, winner: 'a', loser: 'b', votes: 2, kind: 'o2' }])
    expect(r?.pairs[0]?.counts).toEqual({ o1: 0, o2: 1, u1: 0, u2: 0 })
    // One o2 costs a factor 1/(1 − 1/γ) = 11: 2γ·ln 11 / μ ≈ 53 more draws if no other turns up.
    expect(r?.nextSampleSize).toBe(comparisonSampleSize(0.1, 0.05, { o2: 1 }))
    expect(r?.nextSampleSize).toBe(119)
    expect(comparisonAudit([contest], 0.05, [...flipped, ...clean(60)])[0]?.status).toBe('confirmed')
  })

  it('audits several contests on one sample, each on its own margin (a 2/3 measure among them)', () => {
    const bond: ReportedContest = { rules: rules('bond', ['yes', 'no']), votes: { yes: 8000, no: 2000 }, ballots: 10000 }
    const both = { mayor: ['a'], bond: ['yes'] }
    const sample = Array<ComparedBallot>(30).fill(same(both))
    // μ(bond) = (2/3·8000 − 4/3·2000) / 10,000 = 0.267: its P falls faster than the mayor's (μ = 0.1).
    const [m, b] = comparisonAudit([contest, bond], 0.05, sample)
    expect(b?.pairs[0]?.dilutedMargin).toBeCloseTo(0.2667, 4)
    expect(b?.status).toBe('confirmed')
    expect(m?.status).toBe('escalate')
    // A yes recorded where the paper says no is a full two-vote overstatement of the bond's margin.
    const [, b2] = comparisonAudit([contest, bond], 0.05, [{ cvr: both, paper: { mayor: ['a'], bond: ['no'] } }, ...sample])
    expect(b2?.discrepancies).toEqual([{ draw: 0, winner: 'yes', loser: 'no', votes: 2, kind: 'o2' }])
    expect(b2?.status).toBe('escalate')
  })

  it('asks for a full hand count at the limit, and for a contest with no margin', () => {
    const flipped = Array<ComparedBallot>(40).fill({ cvr: ballot('mayor', 'a'), paper: ballot('mayor', 'b') })
    expect(comparisonAudit([contest], 0.05, flipped, { fullCountAt: 40 })[0]?.status).toBe('full-hand-count-needed')
    const tie: ReportedContest = { ...contest, votes: { a: 5000, b: 5000 } }
    expect(comparisonAudit([tie], 0.05, clean(500))[0]?.status).toBe('full-hand-count-needed')
  })
})

/** An election of `n` ballots for a (first `aVotes`) or b, and the CVRs with `flips` of b's papers recorded for a. */
function election(aVotes: number, n: number, flips: number) {
  const a = ballot('mayor', 'a')
  const b = ballot('mayor', 'b')
  const papers = Array.from({ length: n }, (_, i) => (i < aVotes ? a : b))
  const cvrs = papers.map((p, i) => (i >= aVotes && i < aVotes + flips ? a : p))
  const reported = { a: aVotes + flips, b: n - aVotes - flips }
  const contest: ReportedContest = { rules: rules('mayor', ['a', 'b']), votes: reported, ballots: n }
  return { contest, papers, cvrs }
}

/** Rounds as the workflow will run them: the initial size, then the projected size, until a decision. */
function roundAudit(e: ReturnType<typeof election>, alpha: number, seed: number, fullCountAt: number) {
  const sample: ComparedBallot[] = []
  const take = (to: number) => {
    while (sample.length < to) {
      const i = Math.floor(uniform(seed, sample.length + 1, 0xc0a7) * e.papers.length)
      sample.push({ cvr: e.cvrs[i] as BallotInterpretation, paper: e.papers[i] as BallotInterpretation })
    }
  }
  const mu = Math.min(...comparisonPairs(e.contest).map((p) => p.dilutedMargin))
  take(Math.min(fullCountAt, comparisonSampleSize(mu, alpha)))
  let r = comparisonAudit([e.contest], alpha, sample, { fullCountAt })[0]!
  while (r.status === 'escalate') {
    // The workflow's policy, not the test's: at least half as many again each round, so that
    // a sample full of errors reaches the full count in a few rounds rather than dozens.
    take(Math.min(fullCountAt, Math.max(r.nextSampleSize, Math.ceil(1.5 * sample.length))))
    r = comparisonAudit([e.contest], alpha, sample, { fullCountAt })[0]!
  }
  return r
}

function handCount(e: ReturnType<typeof election>) {
  const total: Record<string, number> = {}
  for (const p of e.papers) for (const s of p.mayor ?? []) total[s] = (total[s] ?? 0) + 1
  return reportedWinners(e.contest.rules, total).winners
}

describe('simulations (seeded)', () => {
  it('(a) a correct outcome with a few errors that do not change it confirms in every run, near the initial size', () => {
    // Reported 5,550 to 4,450 of 10,000 (μ = 11 %); 50 of b's papers were recorded for a.
    const e = election(5500, 10000, 50)
    const initial = comparisonSampleSize(0.11, 0.05)
    let draws = 0
    for (let seed = 0; seed < 200; seed++) {
      const r = roundAudit(e, 0.05, seed, 10000)
      expect(r.status).toBe('confirmed')
      draws += r.sampleSize
    }
    expect(draws / 200).toBeLessThan(2 * initial)
    console.info(
      `comparison 55.5/44.5 with 50 flips, α=0.05: 200/200 confirmed, mean sample ${(draws / 200).toFixed(1)} (initial ${initial})`,
    )
  })

  it('(b) flips that change the outcome (reported 55/45, 2,000 of a\'s "votes" truly b\'s) never confirm in 100 runs; the full count names b', () => {
    // 20 % of draws are two-vote overstatements, each multiplying P by 11: P(no o2 in the 66
    // of round 1) = 0.8^66 ≈ 4e-7, and after that log P drifts up; over 100 runs < 1e-4.
    const e = election(3500, 10000, 2000)
    expect(e.contest.votes).toEqual({ a: 5500, b: 4500 })
    for (let seed = 0; seed < 100; seed++) expect(roundAudit(e, 0.05, seed, 2500).status, `seed ${seed}`).toBe('full-hand-count-needed')
    expect(handCount(e)).toEqual(['b'])
  })

  it('(b) escalates once the flips exceed half the margin: confirm rates by number of flipped ballots', () => {
    // Reported a 5,500, b 4,500: 500 flips tie it, 501 reverse it. The risk limit bounds the
    // confirm rate of every wrong outcome by α = 5 %; 1,000 runs (sd ≈ 0.7 points) with 2
    // points of slack. An outcome still right confirms unless its errors outweigh the margin:
    // with γ = 1.1 at μ = 10 % a sample tolerates two-vote overstatements in up to about
    // μ / (2γ·ln 11) ≈ 1.9 % of draws, so 100 flips (1 %) confirm.
    const rates: Record<number, number> = {}
    for (const flips of [0, 100, 501, 600]) {
      const e = election(5500 - flips, 10000, flips)
      const runs = flips === 501 ? 1000 : 100
      let confirmed = 0
      for (let seed = 0; seed < runs; seed++) {
        const r = roundAudit(e, 0.05, seed, 1000)
        if (r.status === 'confirmed') confirmed++
        else expect(r.status).toBe('full-hand-count-needed')
      }
      rates[flips] = confirmed / runs
      if (flips > 500) expect(handCount(e)).toEqual(['b'])
    }
    expect(rates[0]).toBe(1)
    expect(rates[100]).toBeGreaterThan(0.9)
    expect(rates[501]).toBeLessThanOrEqual(0.07)
    expect(rates[600]).toBeLessThanOrEqual(0.07)
    console.info(`comparison 55/45, α=0.05, γ=${DEFAULT_GAMMA}: confirm rate by flips ${JSON.stringify(rates)}`)
  })
})

describe('a contest reported with no votes', () => {
  it('is never confirmed: no pair stands for it, so it goes to the full count (as ballot polling does)', () => {
    // A scanner that read the whole contest as blank: every record empty, every paper marked.
    const blank: ReportedContest = { rules: rules('B', ['x', 'y']), votes: {}, ballots: 1000 }
    const sample = Array.from({ length: 200 }, () => ({ cvr: ballot('B'), paper: ballot('B', 'x') }))
    const [result] = comparisonAudit([blank], 0.05, sample)
    expect(result?.status).toBe('full-hand-count-needed')
    expect(result?.reason).toMatch(/reported with no candidate/)
    const measure: ReportedContest = { rules: rules('M', ['yes', 'no']), votes: {}, ballots: 1000 }
    expect(comparisonAudit([measure], 0.05, [])[0]?.status).toBe('full-hand-count-needed')
  })
})
