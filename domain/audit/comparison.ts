import {
  type AuditStatus,
  type BallotInterpretation,
  countedSelections,
  type ReportedContest,
  type ReportedPair,
  reportedPairs,
  reportedVacancy,
} from './bravo.ts'

/**
 * Ballot-level comparison audit against the cast vote records: Stark's "super-simple"
 * simultaneous audit (Stark, "Super-Simple Simultaneous Single-Ballot Risk-Limiting Audits",
 * EVT/WOTE 2010; Lindeman & Stark, "A Gentle Introduction to Risk-Limiting Audits", IEEE
 * S&P 2012) with the Kaplan–Markov P-value. Pure arithmetic: the workflow draws ballots
 * (sampler.ts), fetches each one's CVR and its paper, and calls `comparisonAudit`.
 *
 * Why it needs so few ballots: each sampled ballot is checked against its own CVR, so a
 * ballot that agrees is evidence by itself, and only a disagreement that favoured the
 * reported winner (an overstatement of the margin) costs anything.
 *
 * Units. Each winner–loser pair is audited on its own margin. A ballot adds w_w to the
 * pair's margin for a winner vote and takes w_l off for a loser vote, with w_w = 2(1 − p0),
 * w_l = 2·p0 for the pair's null share p0: 1 and 1 between candidates (the margin is
 * V_w − V_l), and for a measure of threshold f reported passing 2(1 − f) per yes and 2f per
 * no (yes·(1 − f) − no·f > 0 is "yes reaches f"). Either way one ballot can overstate the
 * margin by at most w_w + w_l = 2, "a two-vote overstatement", and the diluted margin is
 * μ = V / N.
 */

/** Stark's error inflation γ (1.1 in "A Gentle Introduction"; Colorado and Arlo use 1.03905). */
export const DEFAULT_GAMMA = 1.1

export interface ComparisonPair extends ReportedPair {
  winnerWeight: number
  loserWeight: number
  /** V: the reported margin, winnerWeight·winnerVotes − loserWeight·loserVotes. */
  margin: number
  /** μ = V / N. */
  dilutedMargin: number
}

export function comparisonPairs(contest: ReportedContest): ComparisonPair[] {
  return reportedPairs(contest).map((p) => {
    const winnerWeight = 2 * (1 - p.nullShare)
    const loserWeight = 2 * p.nullShare
    const margin = winnerWeight * p.winnerVotes - loserWeight * p.loserVotes
    return { ...p, winnerWeight, loserWeight, margin, dilutedMargin: margin / contest.ballots }
  })
}

/** o = overstatement (the CVR favoured the winner more than the paper), u = understatement; 1 or 2 votes. */
export type DiscrepancyKind = 'o1' | 'o2' | 'u1' | 'u2'

/**
 * The pair's margin on the CVR minus on the paper, in votes (−2..2): positive overstates the
 * reported margin. A ballot whose paper cannot be found, or that has no CVR, counts as a
 * two-vote overstatement: the worst it could be (Stark; Arlo does the same).
 */
export function overstatement(
  pair: ComparisonPair,
  rules: ReportedContest['rules'],
  cvr: BallotInterpretation | null,
  paper: BallotInterpretation | null,
): number {
  if (cvr === null || paper === null) return 2
  // Own keys only: a contest called `constructor` must not find Object's.
  const c = countedSelections(rules, Object.hasOwn(cvr, rules.id) ? cvr[rules.id] : undefined)
  const a = countedSelections(rules, Object.hasOwn(paper, rules.id) ? paper[rules.id] : undefined)
  const contribution = (s: ReadonlySet<string>) => (s.has(pair.winner) ? pair.winnerWeight : 0) - (s.has(pair.loser) ? pair.loserWeight : 0)
  return contribution(c) - contribution(a)
}

/** The kind of a non-zero overstatement: a whole two votes, or anything less. */
export function discrepancyKind(votes: number): DiscrepancyKind | null {
  // Weighted votes of a measure are fractions of thirds, fifths…: compare with a hair of slack.
  if (Math.abs(votes) < 1e-9) return null
  if (votes > 0) return votes >= 2 - 1e-9 ? 'o2' : 'o1'
  return votes <= -2 + 1e-9 ? 'u2' : 'u1'
}

/**
 * The Kaplan–Markov P-value of the super-simple audit for one pair: with U = 2γ/μ,
 *
 *   P = Π over the draws (1 − 1/U) / (1 − τ_i/γ),   τ_i = overstatement_i / 2 ∈ [−1, 1],
 *
 * capped at 1. A clean ballot multiplies P by 1 − μ/(2γ); a one-vote overstatement divides
 * it by 1 − 1/(2γ) as well, a two-vote one by 1 − 1/γ (γ > 1 keeps this finite);
 * understatements help. Logarithms, so that long samples do not underflow.
 */
export function kaplanMarkovPValue(dilutedMargin: number, overstatements: readonly number[], gamma = DEFAULT_GAMMA): number {
  if (!(gamma > 1)) throw new RangeError(`γ must exceed 1 (got ${gamma})`)
  if (!(dilutedMargin > 0)) return 1
  const clean = Math.log1p(-dilutedMargin / (2 * gamma))
  let logP = 0
  for (const e of overstatements) logP += clean - Math.log1p(-e / 2 / gamma)
  return Math.min(1, Math.exp(logP))
}

export interface ExpectedDiscrepancies {
  o1?: number
  o2?: number
  u1?: number
  u2?: number
}

/**
 * The initial sample size of the super-simple paper (Stark 2010, eq. for n; the formula of
 * Stark's online "Tools for Comparison Risk-Limiting Election Audits"):
 *
 *   n = ⌈ −2γ [ln α + o1·ln(1 − 1/(2γ)) + o2·ln(1 − 1/γ) + u1·ln(1 + 1/(2γ)) + u2·ln(1 + 1/γ)] / μ ⌉
 *
 * with o1, o2, u1, u2 the discrepancies the sample is expected to find (counts, default 0).
 * It uses −ln(1 − x) ≥ x, so a sample of n with those discrepancies meets the risk limit.
 * Infinity when the margin is not positive.
 */
export function comparisonSampleSize(
  dilutedMargin: number,
  riskLimit: number,
  expected: ExpectedDiscrepancies = {},
  gamma = DEFAULT_GAMMA,
): number {
  if (!(riskLimit > 0 && riskLimit < 1)) throw new RangeError(`the risk limit is a fraction in (0, 1) (got ${riskLimit})`)
  if (!(gamma > 1)) throw new RangeError(`γ must exceed 1 (got ${gamma})`)
  if (!(dilutedMargin > 0)) return Number.POSITIVE_INFINITY
  const { o1 = 0, o2 = 0, u1 = 0, u2 = 0 } = expected
  const bracket =
    Math.log(riskLimit) +
    o1 * Math.log(1 - 1 / (2 * gamma)) +
    o2 * Math.log(1 - 1 / gamma) +
    u1 * Math.log(1 + 1 / (2 * gamma)) +
    u2 * Math.log(1 + 1 / gamma)
  return Math.max(Math.ceil(o1 + o2 + u1 + u2), Math.ceil((-2 * gamma * bracket) / dilutedMargin))
}

/** One sampled ballot: its CVR and its paper as the audit board read it; null when missing. */
export interface ComparedBallot {
  cvr: BallotInterpretation | null
  paper: BallotInterpretation | null
}

export interface ComparisonPairResult {
  winner: string
  loser: string
  margin: number
  dilutedMargin: number
  /** Discrepancies found for this pair, draws counted with their repeats. */
  counts: Required<ExpectedDiscrepancies>
  /** The Kaplan–Markov P-value: the pair is confirmed once it is ≤ α. */
  pValue: number
}

export interface ComparisonContestResult {
  contestId: string
  status: AuditStatus
  sampleSize: number
  riskLimit: number
  gamma: number
  /** The contest's measured risk: its weakest pair's P-value. */
  pValue: number
  pairs: ComparisonPairResult[]
  /** Every non-zero discrepancy, for the report: the draw (0-based), the pair, votes and kind. */
  discrepancies: Array<{ draw: number; winner: string; loser: string; votes: number; kind: DiscrepancyKind }>
  /**
   * The total draws to have after the next round: the initial-size formula with the
   * discrepancies seen so far as the expected ones (Colorado's "optimistic" estimate: enough
   * if no further discrepancy turns up), the weakest pair's, capped at fullCountAt.
   */
  nextSampleSize: number
  reason: string
}

export interface ComparisonOptions {
  gamma?: number
  /** From this many draws on, stop sampling and count every ballot by hand. Default: N. */
  fullCountAt?: number
}

/** The audit of each contest after the draws so far (every draw in order, repeats included). */
export function comparisonAudit(
  contests: readonly ReportedContest[],
  riskLimit: number,
  sample: readonly ComparedBallot[],
  options: ComparisonOptions = {},
): ComparisonContestResult[] {
  if (!(riskLimit > 0 && riskLimit < 1)) throw new RangeError(`the risk limit is a fraction in (0, 1) (got ${riskLimit})`)
  return contests.map((c) => comparisonContest(c, riskLimit, sample, options))
}

function comparisonContest(
  contest: ReportedContest,
  riskLimit: number,
  sample: readonly ComparedBallot[],
  options: ComparisonOptions,
): ComparisonContestResult {
  const gamma = options.gamma ?? DEFAULT_GAMMA
  const fullCountAt = options.fullCountAt ?? contest.ballots
  const discrepancies: ComparisonContestResult['discrepancies'] = []
  const pairs = comparisonPairs(contest).map((pair) => {
    const counts = { o1: 0, o2: 0, u1: 0, u2: 0 }
    const votes = sample.map((b, draw) => {
      const e = overstatement(pair, contest.rules, b.cvr, b.paper)
      const kind = discrepancyKind(e)
      if (kind) {
        counts[kind]++
        discrepancies.push({ draw, winner: pair.winner, loser: pair.loser, votes: e, kind })
      }
      return e
    })
    return { pair, counts, pValue: kaplanMarkovPValue(pair.dilutedMargin, votes, gamma) }
  })
  const pValue = pairs.reduce((p, r) => Math.max(p, r.pValue), pairs.length === 0 ? 0 : -Infinity)
  const projected = pairs.reduce((n, r) => Math.max(n, comparisonSampleSize(r.pair.dilutedMargin, riskLimit, r.counts, gamma)), 0)
  const decision = comparisonDecision(
    contest,
    pairs.map((r) => r.pair),
    pValue,
    riskLimit,
    sample.length,
    fullCountAt,
  )
  return {
    contestId: contest.rules.id,
    ...decision,
    sampleSize: sample.length,
    riskLimit,
    gamma,
    pValue: Math.max(0, pValue),
    pairs: pairs.map(({ pair, counts, pValue }) => ({
      winner: pair.winner,
      loser: pair.loser,
      margin: pair.margin,
      dilutedMargin: pair.dilutedMargin,
      counts,
      pValue,
    })),
    discrepancies: discrepancies.sort((a, b) => a.draw - b.draw),
    nextSampleSize: Math.min(fullCountAt, Math.max(sample.length + 1, projected)),
  }
}

function comparisonDecision(
  contest: ReportedContest,
  pairs: ComparisonPair[],
  pValue: number,
  riskLimit: number,
  sampleSize: number,
  fullCountAt: number,
): { status: AuditStatus; reason: string } {
  // A seat (or a measure) reported with no votes has no pair to test: no sample can stand for
  // it (a scanner that read the whole contest as blank would otherwise be "confirmed").
  const vacancy = reportedVacancy(contest)
  if (vacancy) return { status: 'full-hand-count-needed', reason: vacancy }
  const stuck = pairs.find((p) => !(p.dilutedMargin > 0))
  if (stuck) return { status: 'full-hand-count-needed', reason: `${stuck.winner} over ${stuck.loser} has no margin to audit` }
  if (pValue <= riskLimit)
    return { status: 'confirmed', reason: pairs.length === 0 ? 'no loser: nothing to test' : `measured risk ${pValue.toPrecision(3)} ≤ α` }
  if (sampleSize >= fullCountAt)
    return { status: 'full-hand-count-needed', reason: `${sampleSize} draws reached the full-count limit of ${fullCountAt}` }
  return { status: 'escalate', reason: `measured risk ${pValue.toPrecision(3)} > α` }
}
