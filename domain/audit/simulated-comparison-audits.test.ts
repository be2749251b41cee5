import { describe, expect, it } from 'vitest'
import { addVotes, type ContestVotes, singleSeatMargins } from '../../test/fixtures/paper-votes.ts'
import type { Marks } from '../ballot.ts'
import type { ContestRules } from '../contests.ts'
import { defaultPlan, Simulation, type SimulationSettings } from '../simulation.ts'
import { type BallotInterpretation, bravoAsn, type ReportedContest, reportedWinners } from './bravo.ts'
import { type ComparedBallot, type ComparisonContestResult, comparisonAudit, comparisonSampleSize, DEFAULT_GAMMA } from './comparison.ts'
import { fullCountAt, nextComparisonTarget } from './rounds.ts'
import { drawSample } from './sampler.ts'

/**
 * Ballot-comparison audits (Stark's super-simple test, Kaplan–Markov P-value) of simulated
 * elections, in memory: ballot k's cast vote record is what the count received (the marks the
 * generator sent, after any injected misread), its paper is the generator's own marks, and the
 * audit runs its rounds exactly as the audit workflow does (the same round sizes, sampler and
 * test, over the whole sample so far each round). The BRAVO counterpart is simulated-audits.test.ts.
 */

const base: SimulationSettings = { seed: 11, voters: 4_000, turnout: 0.8, invalidShare: 0, duplicateShare: 0, contests: true }
const plan = (settings: Partial<SimulationSettings>) => defaultPlan('audit-sim', { ...base, ...settings }, { regions: 16 })
const RISK_LIMIT = 0.05

const interpret = (marks: Marks): BallotInterpretation =>
  Object.fromEntries(Object.entries(marks).map(([id, ms]) => [id, ms.map((m) => (typeof m === 'string' ? m : 'write-in'))]))
const seeds = (n: number) => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(4, '0')}${'3141592653589793238'.slice(0, 16)}`)

/** Every ballot's cast vote record (as sent) and paper (as generated), with the votes the count reported and the papers hold. */
function election(settings: Partial<SimulationSettings>) {
  const sim = new Simulation(plan(settings))
  const index = sim.contests
  if (!index) throw new Error('a long ballot')
  const cvrs: BallotInterpretation[] = []
  const papers: BallotInterpretation[] = []
  const reported: ContestVotes = new Map()
  const onPaper: ContestVotes = new Map()
  for (let k = 0; k < sim.ballotCount; k++) {
    const paper = sim.paper(k)
    const sent = sim.messagesFor(k, '2026-11-03T12:00:00Z')[0]?.ballot
    if (!paper || !sent || sent.v !== 2) throw new Error(`ballot ${k}`)
    cvrs.push(interpret(sent.marks))
    papers.push(interpret(paper))
    addVotes(index.contests, sent.marks, reported)
    addVotes(index.contests, paper, onPaper)
  }
  return { index, cvrs, papers, reported, onPaper, N: papers.length }
}
type Election = ReturnType<typeof election>

const reportedContest = (e: Election, rules: ContestRules): ReportedContest => ({
  rules,
  votes: e.reported.get(rules.id) ?? {},
  ballots: e.N,
})

/**
 * A comparison audit of one contest over the whole box (one batch, in ballot order), until it
 * stops: each round's target from the results so far, its tickets drawn after the ones before,
 * and the test rerun over every draw so far (repeats included), as the workflow does.
 */
function audit(contest: ReportedContest, e: Election, riskLimit: number, seed: string) {
  const manifest = [{ id: 'box', ballots: e.N }]
  const sample: ComparedBallot[] = []
  const positions: number[] = []
  const targets: number[] = []
  let drawn = 0
  let results = null as ComparisonContestResult[] | null
  while (!results || results.some((r) => r.status === 'escalate')) {
    const target = nextComparisonTarget([contest], riskLimit, results, drawn, e.N)
    if (!(target > drawn)) throw new Error(`round ${targets.length + 1} draws nothing (target ${target} after ${drawn})`)
    for (const d of drawSample(seed, manifest, target - drawn, drawn + 1)) {
      positions.push(d.position)
      sample.push({ cvr: e.cvrs[d.position - 1] ?? null, paper: e.papers[d.position - 1] ?? null })
    }
    results = comparisonAudit([contest], riskLimit, sample, { fullCountAt: fullCountAt(e.N) })
    drawn = target
    targets.push(target)
  }
  const [result] = results
  if (!result) throw new Error('no result')
  return { result, status: result.status, draws: drawn, rounds: targets.length, firstRound: targets[0] ?? 0, positions }
}
type Run = ReturnType<typeof audit>

/** The votes a ballot gives in a contest, by the count's rule (an overvote gives none), as a comparable key. */
const counted = (rules: ContestRules, b: BallotInterpretation | undefined) => {
  const s = b?.[rules.id] ?? []
  return JSON.stringify(s.length > rules.votesAllowed ? [] : [...new Set(s)].sort())
}
/** Draws (repeats included) whose record and paper count differently in the contest: found independently of comparison.ts. */
const differing = (run: Run, e: Election, rules: ContestRules) =>
  run.positions.filter((p) => counted(rules, e.cvrs[p - 1]) !== counted(rules, e.papers[p - 1])).length

const pairOf = (run: Run, winner: string, loser: string) => {
  const pair = run.result.pairs.find((p) => p.winner === winner && p.loser === loser)
  if (!pair) throw new Error(`no pair ${winner} over ${loser}`)
  return pair
}
const overstated = (run: Run) => run.result.discrepancies.some((d) => d.kind === 'o1' || d.kind === 'o2')
const mean = (xs: readonly number[]) => xs.reduce((n, x) => n + x, 0) / xs.length
const range = (xs: readonly number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`

describe('ballot-comparison audits of simulated elections, in memory', () => {
  const clean = election({})
  const margins = singleSeatMargins(clean.index.contests, clean.onPaper)
  const widest = margins[0]
  const narrowest = margins[margins.length - 1]
  if (!widest || !narrowest) throw new Error('no contested single-seat contest')
  const cleanFirstRound = (rules: ContestRules) => nextComparisonTarget([reportedContest(clean, rules)], RISK_LIMIT, null, 0, clean.N)

  it('a count whose records equal their papers: each run confirms in round 1 with exactly the super-simple size of the tightest pair', () => {
    expect(clean.cvrs).toEqual(clean.papers)
    for (const [label, c] of [
      ['widest', widest],
      ['narrowest', narrowest],
    ] as const) {
      const contest = reportedContest(clean, c.rules)
      // The tightest pair, from the reported votes alone: the winner against the best of the other lines.
      const [winner, ...others] = Object.entries(contest.votes).sort((a, b) => b[1] - a[1])
      if (!winner || others.length === 0) throw new Error(`${c.rules.id}: no runner-up`)
      const [runnerUp, Vl] = others[0] as [string, number]
      const Vw = winner[1]
      expect(reportedWinners(c.rules, contest.votes).winners).toEqual([winner[0]])
      const mu = (Vw - Vl) / clean.N
      // Stark's n with no discrepancy expected: ⌈2γ·ln(1/α)/μ⌉.
      const n = Math.ceil((2 * DEFAULT_GAMMA * Math.log(1 / RISK_LIMIT)) / mu)
      expect(comparisonSampleSize(mu, RISK_LIMIT)).toBe(n)
      expect(nextComparisonTarget([contest], RISK_LIMIT, null, 0, clean.N)).toBe(n)

      const runs = seeds(100).map((seed) => audit(contest, clean, RISK_LIMIT, seed))
      for (const run of runs) {
        expect(run.status).toBe('confirmed')
        expect(run.rounds).toBe(1)
        expect(run.draws).toBe(n)
        expect(run.result.sampleSize).toBe(n)
        expect(run.result.discrepancies).toEqual([])
        // Every pair is clean: P = (1 − μ/(2γ))^n for the tightest, at most α.
        const tight = pairOf(run, winner[0], runnerUp)
        expect(tight.dilutedMargin).toBeCloseTo(mu, 12)
        const p = (1 - mu / (2 * DEFAULT_GAMMA)) ** n
        expect(Math.abs(run.result.pValue / p - 1)).toBeLessThan(1e-9)
        expect(run.result.pValue).toBeLessThanOrEqual(RISK_LIMIT)
      }
      const asn = bravoAsn(Vw / clean.N, Vl / clean.N, RISK_LIMIT)
      console.log(
        `clean comparison audits (${label}: ${c.rules.id}, ${Vw} to ${Vl} of ${clean.N} ballots, μ = ${mu.toFixed(3)}, α = ${RISK_LIMIT}): ` +
          `100/100 confirmed in round 1 from ${n} draws; BRAVO ASN for the same margin ${asn.toFixed(0)}`,
      )
    }
  })

  it('a misread that reverses the outcome is never confirmed: each of 100 runs goes to a full hand count', () => {
    // As simulated-audits.test.ts builds it: enough of the winner's ballots read as the runner-up's to reverse the outcome.
    const target = widest
    const share = Math.min(1, (target.w - target.l) / (2 * target.w) + 0.15)
    const wrong = election({ misread: { contestId: target.rules.id, from: target.winner, to: target.runnerUp, share } })
    const contest = reportedContest(wrong, target.rules)
    expect(reportedWinners(target.rules, contest.votes).winners).toEqual([target.runnerUp])
    expect(reportedWinners(target.rules, wrong.onPaper.get(target.rules.id) ?? {}).winners).toEqual([target.winner])
    expect(wrong.papers).toEqual(clean.papers)

    const limit = fullCountAt(wrong.N)
    const runs = seeds(100).map((seed) => audit(contest, wrong, RISK_LIMIT, seed))
    for (const run of runs) {
      expect(run.status).toBe('full-hand-count-needed')
      expect(run.draws).toBe(limit)
      expect(run.result.sampleSize).toBe(limit)
      expect(run.result.pValue).toBeGreaterThan(RISK_LIMIT)
      // Each misread ballot drawn is a two-vote overstatement of the reported winner over the true one, and nothing else is.
      const reversed = pairOf(run, target.runnerUp, target.winner)
      const misreadDraws = differing(run, wrong, target.rules)
      expect(misreadDraws).toBeGreaterThan(0)
      expect(reversed.counts).toEqual({ o1: 0, o2: misreadDraws, u1: 0, u2: 0 })
      expect(reversed.pValue).toBe(1)
      // The rounds after the first are sized from the overstatements found (enough only if no more turn up): a count this
      // wrong reaches the full count in a few rounds, where doubling alone would take six.
      expect(run.rounds).toBeLessThanOrEqual(3)
    }
    // Without the discrepancies the first round would have confirmed: it is the clean-sample size of the reported margin.
    expect(
      runs.every((r) => r.firstRound === comparisonSampleSize(pairOf(r, target.runnerUp, target.winner).dilutedMargin, RISK_LIMIT)),
    ).toBe(true)
    const rounds = runs.map((r) => r.rounds)
    const found = runs.map((r) => pairOf(r, target.runnerUp, target.winner).counts.o2)
    console.log(
      `reversing misread (${target.rules.id}, share ${share.toFixed(3)}; reported ${JSON.stringify(contest.votes)}): ` +
        `100/100 runs reached the full count (${limit} draws) in ${range(rounds)} rounds, after a first round of ${range(runs.map((r) => r.firstRound))}; ` +
        `two-vote overstatements found ${range(found)} (mean ${mean(found).toFixed(0)})`,
    )
  })

  describe('a misread that does not change the outcome: found, and confirmed after more draws than the clean count', () => {
    it('one-vote overstatements (ballots of the runner-up read as the third candidate): most runs find them, ≥ 90 confirm', () => {
      // A wide margin whose runner-up holds enough ballots (a tenth of the box) for a misread of some of them to show in a sample.
      const c = margins.find((m) => {
        const third = Object.keys(m.votes).filter((line) => line !== m.winner && line !== m.runnerUp && line !== 'write-in')
        return m.l >= clean.N / 10 && third.length > 0
      })
      if (!c) throw new Error('no contest with a sizeable runner-up and a third candidate')
      const third = Object.entries(c.votes)
        .filter(([line]) => line !== c.winner && line !== c.runnerUp && line !== 'write-in')
        .sort((a, b) => b[1] - a[1])[0]?.[0] as string
      const e = election({ misread: { contestId: c.rules.id, from: c.runnerUp, to: third, share: 0.4 } })
      const contest = reportedContest(e, c.rules)
      expect(reportedWinners(c.rules, contest.votes).winners).toEqual([c.winner])
      const flipped = c.l - (contest.votes[c.runnerUp] ?? 0)
      expect(flipped).toBeGreaterThan(0)

      const runs = seeds(100).map((seed) => audit(contest, e, RISK_LIMIT, seed))
      for (const run of runs) {
        // Each misread ballot drawn: one vote overstated for winner over runner-up (the paper's vote the count lost), one understated against the third.
        const misreadDraws = differing(run, e, c.rules)
        expect(pairOf(run, c.winner, c.runnerUp).counts).toEqual({ o1: misreadDraws, o2: 0, u1: 0, u2: 0 })
        expect(pairOf(run, c.winner, third).counts).toEqual({ o1: 0, o2: 0, u1: misreadDraws, u2: 0 })
        // A run that finds none stops where a clean sample does.
        if (misreadDraws === 0) expect([run.status, run.rounds]).toEqual(['confirmed', 1])
      }
      const found = runs.filter(overstated)
      const confirmed = runs.filter((r) => r.status === 'confirmed')
      const cleanDraws = cleanFirstRound(c.rules)
      const escalated = found.filter((r) => r.rounds > 1)
      console.log(
        `one-vote misread (${c.rules.id}: ${flipped} of ${c.runnerUp}'s ${c.l} ballots read as ${third}'s): ${found.length}/100 runs found ` +
          `overstatements (${escalated.length} of them escalated), ${confirmed.length}/100 confirmed; ` +
          `draws ${mean(runs.map((r) => r.draws)).toFixed(1)} on average (${range(runs.map((r) => r.draws))}) against ${cleanDraws} for the clean count`,
      )
      expect(found.length).toBeGreaterThanOrEqual(60)
      expect(confirmed.length).toBeGreaterThanOrEqual(90)
      expect(escalated.length).toBeGreaterThanOrEqual(found.length / 2)
      expect(mean(runs.map((r) => r.draws))).toBeGreaterThan(cleanDraws)
      expect(mean(found.map((r) => r.draws))).toBeGreaterThan(1.3 * cleanDraws)
    })

    it('two-vote overstatements (ballots of the runner-up read as the winner): every run that finds one escalates, ≥ 90 confirm', () => {
      // The misread that widens the reported margin: each such ballot drawn costs a factor γ/(γ − 1) = 11 of evidence, so only
      // a rate well under μ/5 of them still confirms, and a first round then finds one in well under three runs of four.
      const c = margins.find((m) => m.l >= clean.N / 10)
      if (!c) throw new Error('no contest with a sizeable runner-up')
      const e = election({ misread: { contestId: c.rules.id, from: c.runnerUp, to: c.winner, share: 0.25 } })
      const contest = reportedContest(e, c.rules)
      expect(reportedWinners(c.rules, contest.votes).winners).toEqual([c.winner])
      const flipped = c.l - (contest.votes[c.runnerUp] ?? 0)
      expect(flipped).toBeGreaterThan(0)

      const runs = seeds(100).map((seed) => audit(contest, e, RISK_LIMIT, seed))
      for (const run of runs) {
        const misreadDraws = differing(run, e, c.rules)
        expect(pairOf(run, c.winner, c.runnerUp).counts).toEqual({ o1: 0, o2: misreadDraws, u1: 0, u2: 0 })
        // One two-vote overstatement outweighs any slack a round's size leaves: the run must draw again.
        if (misreadDraws > 0) expect(run.rounds).toBeGreaterThan(1)
        else expect([run.status, run.rounds]).toEqual(['confirmed', 1])
      }
      const found = runs.filter(overstated)
      const confirmed = runs.filter((r) => r.status === 'confirmed')
      const cleanDraws = cleanFirstRound(c.rules)
      console.log(
        `two-vote misread (${c.rules.id}: ${flipped} of ${c.runnerUp}'s ${c.l} ballots read as ${c.winner}'s): ${found.length}/100 runs found ` +
          `overstatements, ${confirmed.length}/100 confirmed; draws ${mean(runs.map((r) => r.draws)).toFixed(1)} on average ` +
          `(${range(runs.map((r) => r.draws))}; ${mean(found.map((r) => r.draws)).toFixed(1)} in the runs that found one) against ${cleanDraws} for the clean count`,
      )
      expect(found.length).toBeGreaterThanOrEqual(30)
      expect(confirmed.length).toBeGreaterThanOrEqual(90)
      expect(mean(runs.map((r) => r.draws))).toBeGreaterThan(cleanDraws)
      expect(mean(found.map((r) => r.draws))).toBeGreaterThan(2 * cleanDraws)
    })
  })
})
