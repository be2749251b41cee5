import { describe, expect, it } from 'vitest'
import { addVotes, type ContestVotes, paperVotes, singleSeatMargins } from '../../test/fixtures/paper-votes.ts'
import type { Marks } from '../ballot.ts'
import { AppError } from '../errors.ts'
import { defaultPlan, Simulation, type SimulationSettings } from '../simulation.ts'
import { type BallotInterpretation, bravoAsn, bravoAudit, type ReportedContest, reportedWinners } from './bravo.ts'
import { fullCountAt, nextRoundTarget } from './rounds.ts'
import { drawSample } from './sampler.ts'

/**
 * Risk-limiting audits of simulated elections, in memory: the generator's ballots are the
 * papers, the ballots it sends (after any injected misread) are what the count counted,
 * and the audit runs its rounds exactly as the audit workflow's activity does (the same
 * round sizes, sampler and test). The workflow's own run is test/audit.test.ts.
 */

const base: SimulationSettings = { seed: 11, voters: 4_000, turnout: 0.8, invalidShare: 0, duplicateShare: 0, contests: true }
const plan = (settings: Partial<SimulationSettings>) => defaultPlan('audit-sim', { ...base, ...settings }, { regions: 16 })

/** Votes per contest and line: of the papers, and of the ballots as sent (after any misread). */
function tallies(sim: Simulation) {
  const index = sim.contests
  if (!index) throw new Error('a long ballot')
  const papers: Marks[] = []
  const read: Marks[] = []
  const readVotes: ContestVotes = new Map()
  for (let k = 0; k < sim.ballotCount; k++) {
    const paper = sim.paper(k)
    const sent = sim.messagesFor(k, '2026-11-03T12:00:00Z')[0]?.ballot
    if (!paper || !sent || sent.v !== 2) throw new Error(`ballot ${k}`)
    papers.push(paper)
    read.push(sent.marks)
    addVotes(index.contests, sent.marks, readVotes)
  }
  return { index, papers, read, paperVotes: paperVotes(sim), readVotes }
}

/** The single-seat candidate contests, widest margin first (on the papers). */
const contestsByMargin = (t: ReturnType<typeof tallies>) => singleSeatMargins(t.index.contests, t.paperVotes)

/**
 * An audit of one contest over the whole box (one batch, in ballot order), until it stops:
 * each round tested from the counts the previous round left and its own draws, as the
 * workflow's activity does.
 */
function audit(contest: ReportedContest, papers: readonly BallotInterpretation[], riskLimit: number, seed: string) {
  const N = papers.length
  const manifest = [{ id: 'box', ballots: N }]
  let drawn = 0
  let results = null as ReturnType<typeof bravoAudit> | null
  let rounds = 0
  while (!results || results.some((r) => r.status === 'escalate')) {
    const target = nextRoundTarget([contest], riskLimit, results, drawn, N)
    const fresh = drawSample(seed, manifest, target - drawn, drawn + 1).map((d) => papers[d.position - 1] ?? {})
    const before = results ? { draws: drawn, contests: results } : undefined
    results = bravoAudit([contest], riskLimit, fresh, { fullCountAt: fullCountAt(N), before })
    drawn = target
    rounds++
  }
  return { status: results[0]?.status, draws: drawn, rounds }
}

const interpret = (marks: Marks): BallotInterpretation =>
  Object.fromEntries(Object.entries(marks).map(([id, ms]) => [id, ms.map((m) => (typeof m === 'string' ? m : 'write-in'))]))
const seeds = (n: number) => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(4, '0')}${'3141592653589793238'.slice(0, 16)}`)

describe('a misread injected by the simulator', () => {
  const clean = tallies(new Simulation(plan({})))
  const [target] = contestsByMargin(clean)
  if (!target) throw new Error('no contested single-seat contest')
  // Enough of the winner's ballots read as the runner-up's to reverse the reported outcome.
  const share = Math.min(1, (target.w - target.l) / (2 * target.w) + 0.15)
  const misread = { contestId: target.rules.id, from: target.winner, to: target.runnerUp, share }
  const wrong = tallies(new Simulation(plan({ misread })))

  it('changes only what the count receives: the papers are the same ballots, and only the misread contest differs', () => {
    expect(wrong.papers).toEqual(clean.papers)
    let changed = 0
    for (const [k, paper] of wrong.papers.entries()) {
      const sent = wrong.read[k] ?? {}
      for (const id of Object.keys(paper)) {
        if (JSON.stringify(paper[id]) === JSON.stringify(sent[id])) continue
        expect(id).toBe(target.rules.id)
        expect(paper[id]).toContain(target.winner)
        expect(sent[id]).toContain(target.runnerUp)
        changed++
      }
    }
    // Every vote the winner lost is a changed ballot (an overvoted one changes too, and counted for no one either way).
    const lost = target.w - (wrong.readVotes.get(target.rules.id)?.[target.winner] ?? 0)
    expect(lost).toBeGreaterThan(0)
    expect(changed).toBeGreaterThanOrEqual(lost)
    expect(changed).toBeLessThan(lost * 1.1)
  })

  it("reverses the reported outcome, and the generator's truth is what was sent (certification stays exact)", () => {
    const reported = reportedWinners(target.rules, wrong.readVotes.get(target.rules.id) ?? {}).winners
    expect(reported).toEqual([target.runnerUp])
    const sim = new Simulation(plan({ misread }))
    const truth = sim.contestTruth(sim.ballotCount)
    const sentFor = (line: string) =>
      [...truth.entries()].filter(([key]) => key.startsWith(`${target.rules.id}|${line}|`)).reduce((n, [, v]) => n + v, 0)
    expect(sentFor(target.runnerUp)).toBe(wrong.readVotes.get(target.rules.id)?.[target.runnerUp])
  })

  it('is refused with the field named when it does not fit the ballot', () => {
    const refused = (m: NonNullable<SimulationSettings['misread']>, field: string) => {
      try {
        new Simulation(plan({ misread: m }))
      } catch (err) {
        expect(err).toBeInstanceOf(AppError)
        expect((err as AppError).message).toContain(`simulation.misread.${field}`)
        return
      }
      throw new Error('accepted')
    }
    refused({ ...misread, contestId: 'nope' }, 'contestId')
    refused({ ...misread, from: 'nobody' }, 'from')
    refused({ ...misread, to: 'write-in' }, 'to')
    refused({ ...misread, to: misread.from }, 'to')
    expect(() => new Simulation(defaultPlan('x', { ...base, contests: false, misread }, { regions: 16 }))).toThrow(/long ballot/)
  })

  it('is caught by the audit in each of 100 seeded runs: no run confirms the wrong outcome, each goes to a full hand count', () => {
    const contest: ReportedContest = {
      rules: target.rules,
      votes: wrong.readVotes.get(target.rules.id) ?? {},
      ballots: wrong.papers.length,
    }
    const papers = wrong.papers.map(interpret)
    const runs = seeds(100).map((seed) => audit(contest, papers, 0.05, seed))
    expect(runs.filter((r) => r.status !== 'full-hand-count-needed')).toEqual([])
    // The full count then finds the papers' winner.
    const hand = reportedWinners(target.rules, clean.paperVotes.get(target.rules.id) ?? {}).winners
    expect(hand).toEqual([target.winner])
    const rounds = runs.map((r) => r.rounds)
    console.log(`misread audits: 100 runs reached the full count in ${Math.min(...rounds)}–${Math.max(...rounds)} rounds`)
  })

  it('leaves a correct outcome to be confirmed from a sample near the BRAVO average sample number', () => {
    // A contest with a margin that takes a sample of some size (a landslide confirms from a dozen ballots).
    const N0 = clean.papers.length
    const asnOf = (c: { w: number; l: number }) => bravoAsn(c.w / N0, c.l / N0, 0.1)
    const [widest] = contestsByMargin(clean)
      .filter((c) => asnOf(c) >= 100 && asnOf(c) <= N0 / 4)
      .sort((a, b) => Math.abs(asnOf(a) - 300) - Math.abs(asnOf(b) - 300))
    if (!widest) throw new Error('no contest with a moderate margin')
    const votes = clean.readVotes.get(widest.rules.id) ?? {}
    const N = clean.papers.length
    const contest: ReportedContest = { rules: widest.rules, votes, ballots: N }
    const papers = clean.papers.map(interpret)
    const runs = seeds(100).map((seed) => audit(contest, papers, 0.1, seed))
    const confirmed = runs.filter((r) => r.status === 'confirmed')
    const asn = bravoAsn(widest.w / N, widest.l / N, 0.1)
    const firstRound = nextRoundTarget([contest], 0.1, null, 0, N)
    const mean = confirmed.reduce((n, r) => n + r.draws, 0) / confirmed.length
    const inOne = runs.filter((r) => r.status === 'confirmed' && r.rounds === 1).length
    console.log(
      `correct audits (${widest.rules.id}, ${widest.w} to ${widest.l} of ${N} ballots): ${confirmed.length}/100 confirmed, ` +
        `${inOne} in the first round of ${firstRound} draws (sized for a 90 % chance), ${mean.toFixed(0)} draws on average; BRAVO ASN ${asn.toFixed(0)}`,
    )
    expect(confirmed.length).toBeGreaterThanOrEqual(90)
    // The first round is sized for a 90 % chance to stop: most runs stop there.
    expect(inOne).toBeGreaterThanOrEqual(80)
    expect(firstRound).toBeGreaterThan(asn)
    expect(mean).toBeLessThan(firstRound * 1.5)
  })
})
