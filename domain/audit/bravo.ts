import { resultLines } from '../contest-results.ts'
import { type ContestRules, measurePasses } from '../contests.ts'

/**
 * BRAVO ballot-polling risk-limiting audit (Lindeman, Stark & Yates, "BRAVO: Ballot-polling
 * Risk-limiting Audits to Verify Outcomes", EVT/WOTE 2012), pure arithmetic: the reported
 * outcome as winner–loser pairs, Wald's sequential probability ratio test per pair, the
 * expected sample size (ASN) and a first-round size. The workflow draws the ballots
 * (sampler.ts), reads the paper, and calls `bravoAudit` after each round.
 *
 * Why pairs: the reported winners are right exactly when every reported winner got more
 * votes than every reported loser, so the audit tests each (winner, loser) pair and stops
 * only when all of them are confirmed (vote for N included: a ballot that marks both or
 * neither of a pair says nothing about that pair).
 */

/** The reported results of one contest, as certified. */
export interface ReportedContest {
  rules: ContestRules
  /** Votes per result line (declared selections and the write-in line), as reported. */
  votes: Readonly<Record<string, number>>
  /**
   * N: the ballots the sample is drawn from (the manifest's total when the whole election is
   * sampled; ballots without this contest then simply carry no vote in it).
   */
  ballots: number
}

/** One hypothesis of the audit: "`winner` beat `loser`" (or a measure's side beat its threshold). */
export interface ReportedPair {
  winner: string
  loser: string
  winnerVotes: number
  loserVotes: number
  /**
   * The winner's share of the pair's votes at the edge of "the reported outcome is wrong"
   * (the null hypothesis): 1/2 between candidates; for a measure, its threshold when it
   * passed (yes must reach it), one minus the threshold when it failed.
   */
  nullShare: number
}

/**
 * Who won, by the rule the public results use (contest-results.ts): the seats go to the
 * lines with the most votes (a tie broken by id, a line with no vote elects no one); a
 * measure passes when yes exceeds a simple majority or reaches any other threshold.
 */
export function reportedWinners(
  rules: ContestRules,
  votes: Readonly<Record<string, number>>,
): { winners: string[]; passes: boolean | null } {
  const v = (id: string) => votes[id] ?? 0
  if (rules.type === 'measure') {
    const t = rules.threshold ?? { numerator: 1, denominator: 2 }
    return { winners: [], passes: v('yes') + v('no') > 0 ? measurePasses(t, v('yes'), v('no')) : null }
  }
  const ranked = resultLines(rules)
    .map((s) => s.id)
    .sort((a, b) => v(b) - v(a) || (a < b ? -1 : 1))
  return { winners: ranked.slice(0, rules.numberElected).filter((id) => v(id) > 0), passes: null }
}

/** The reported outcome as pairs: every reported winner against every other line. */
export function reportedPairs(contest: ReportedContest): ReportedPair[] {
  const { rules, votes } = contest
  const v = (id: string) => votes[id] ?? 0
  const outcome = reportedWinners(rules, votes)
  if (rules.type === 'measure') {
    const t = rules.threshold ?? { numerator: 1, denominator: 2 }
    const f = t.numerator / t.denominator
    // Reported passing is wrong when yes falls short of f; reported failing is wrong when
    // yes reaches f, i.e. when no falls to 1 − f. Testing at the edge covers the whole side.
    return outcome.passes
      ? [{ winner: 'yes', loser: 'no', winnerVotes: v('yes'), loserVotes: v('no'), nullShare: f }]
      : [{ winner: 'no', loser: 'yes', winnerVotes: v('no'), loserVotes: v('yes'), nullShare: 1 - f }]
  }
  const { winners } = outcome
  const losers = resultLines(rules)
    .map((s) => s.id)
    .filter((id) => !winners.includes(id))
  return winners.flatMap((w) => losers.map((l) => ({ winner: w, loser: l, winnerVotes: v(w), loserVotes: v(l), nullShare: 0.5 })))
}

/** s_w: the winner's reported share of the pair's votes; NaN when neither got a vote. */
export const pairShare = (p: ReportedPair) => p.winnerVotes / (p.winnerVotes + p.loserVotes)

/** Whether sampling can ever confirm the pair: the reported share must lie beyond the null's. */
export const pairAuditable = (p: ReportedPair) => pairShare(p) > p.nullShare

/**
 * ln of the factor T is multiplied by for a ballot for the winner, and for one for the loser:
 * the likelihood ratio of the reported share s_w against the null share (s_w/½ and
 * (1 − s_w)/½ in the paper). Logarithms, so that thousands of ballots neither overflow nor
 * lose precision.
 */
export function pairLogFactors(p: ReportedPair): { winner: number; loser: number } {
  const s = pairShare(p)
  return { winner: Math.log(s / p.nullShare), loser: Math.log((1 - s) / (1 - p.nullShare)) }
}

/**
 * The selections that count on a sampled ballot, by the tabulation's rule: more marks than
 * the contest allows is an overvote, and nothing counts; a selection marked twice counts once.
 * `undefined`: the contest is not on this ballot.
 */
export function countedSelections(rules: ContestRules, selections: readonly string[] | undefined): ReadonlySet<string> {
  return new Set(countedVotes(rules, selections))
}

/**
 * The votes a ballot gives in a contest, by the count's rule (domain/tabulation.ts): more
 * marks than the contest allows is an overvote and gives none; otherwise one vote per mark
 * (two names written in are two votes for the write-in line).
 */
export function countedVotes(rules: ContestRules, selections: readonly string[] | undefined): readonly string[] {
  const made = selections ?? []
  return made.length > rules.votesAllowed ? [] : made
}

/** +1: a ballot for the pair's winner (and not its loser); −1: for the loser; 0: neither or both. */
export function ballotSide(p: ReportedPair, counted: ReadonlySet<string>): -1 | 0 | 1 {
  const w = counted.has(p.winner)
  const l = counted.has(p.loser)
  return w === l ? 0 : w ? 1 : -1
}

/** One sampled ballot as read by the audit board: per contest id, the selections marked in it. */
export type BallotInterpretation = Readonly<Record<string, readonly string[] | undefined>>

export type AuditStatus = 'confirmed' | 'escalate' | 'full-hand-count-needed'

export interface BravoPairResult {
  winner: string
  loser: string
  nullShare: number
  /** s_w: the winner's reported share of the pair's votes. */
  share: number
  /** Sampled ballots for the winner, and for the loser (each draw counted, repeats included). */
  winnerBallots: number
  loserBallots: number
  /** The test statistic T: the pair is confirmed once T ≥ 1/α. */
  T: number
  /** The measured risk, min(1, 1/T). */
  pValue: number
}

export interface BravoContestResult {
  contestId: string
  status: AuditStatus
  /** Draws so far (a ballot drawn twice counts twice, as the test does). */
  sampleSize: number
  riskLimit: number
  pairs: BravoPairResult[]
  /** Why the status is what it is, in words for the audit report. */
  reason: string
}

export interface BravoOptions {
  /**
   * From this many draws on, the audit stops sampling and asks for a full hand count (it is
   * then less work than sampling on). Default: the contest's ballots N.
   */
  fullCountAt?: number
  /**
   * The sample drawn before `sample`, as its counts: the draws and, per contest, each pair's
   * ballots for the winner and for the loser (a round's record). T depends on the sample only
   * through those counts, so a round need not read the earlier papers again.
   */
  before?: PriorSample
}

/** What the draws before a round hold: their number, and per contest each pair's sampled ballots. */
export interface PriorSample {
  draws: number
  contests: ReadonlyArray<{
    contestId: string
    pairs: ReadonlyArray<{ winner: string; loser: string; winnerBallots?: number; loserBallots?: number }>
  }>
}

/**
 * The audit of each contest after the draws so far: T per pair over the whole sample, and
 * the decision. `sample` holds every draw in order, repeats included (sampling with replacement).
 */
export function bravoAudit(
  contests: readonly ReportedContest[],
  riskLimit: number,
  /** The drawn papers in draw order; null for a paper the audit board did not find. */
  sample: readonly (BallotInterpretation | null)[],
  options: BravoOptions = {},
): BravoContestResult[] {
  checkRiskLimit(riskLimit)
  return contests.map((contest) => bravoContest(contest, riskLimit, sample, options))
}

function bravoContest(
  contest: ReportedContest,
  riskLimit: number,
  sample: readonly (BallotInterpretation | null)[],
  options: BravoOptions,
): BravoContestResult {
  const pairs = reportedPairs(contest)
  const id = contest.rules.id
  const prior = options.before?.contests.find((c) => c.contestId === id)?.pairs
  const counts = pairs.map((p) => {
    if (!options.before || options.before.draws === 0) return { w: 0, l: 0 }
    // The reported outcome does not change between rounds, nor do its pairs: a pair missing
    // from the record would drop its loser ballots and overstate T, so it is an error.
    const seen = prior?.find((q) => q.winner === p.winner && q.loser === p.loser)
    if (!seen || seen.winnerBallots === undefined || seen.loserBallots === undefined)
      throw new Error(`the sample before this round has no counts for ${id}: ${p.winner} over ${p.loser}`)
    return { w: seen.winnerBallots, l: seen.loserBallots }
  })
  for (const ballot of sample) {
    // A paper not found is the worst it could be: a ballot for every pair's loser.
    if (ballot === null) {
      for (const c of counts) c.l++
      continue
    }
    // Own keys only: a contest called `constructor` must not find Object's.
    const counted = countedSelections(contest.rules, Object.hasOwn(ballot, id) ? ballot[id] : undefined)
    for (const [i, p] of pairs.entries()) {
      const side = ballotSide(p, counted)
      const c = counts[i] as { w: number; l: number }
      if (side === 1) c.w++
      else if (side === -1) c.l++
    }
  }
  const results = pairs.map((p, i) => {
    const { w, l } = counts[i] as { w: number; l: number }
    const T = pairAuditable(p) ? pairT(p, w, l) : 0
    return {
      winner: p.winner,
      loser: p.loser,
      nullShare: p.nullShare,
      share: pairShare(p),
      winnerBallots: w,
      loserBallots: l,
      T,
      pValue: T > 0 ? Math.min(1, 1 / T) : 1,
    }
  })
  const size = (options.before?.draws ?? 0) + sample.length
  const base = { contestId: contest.rules.id, sampleSize: size, riskLimit, pairs: results }
  const limit = options.fullCountAt ?? contest.ballots
  return { ...base, ...bravoDecision(contest, pairs, results, riskLimit, size, limit) }
}

/** T after w ballots for the winner and l for the loser: the factors multiply, in any order. */
export function pairT(p: ReportedPair, w: number, l: number): number {
  const f = pairLogFactors(p)
  // 0 × −∞ (a share of 1: no loser ballot expected, none seen) is no evidence either way.
  return Math.exp((w === 0 ? 0 : w * f.winner) + (l === 0 ? 0 : l * f.loser))
}

function bravoDecision(
  contest: ReportedContest,
  pairs: ReportedPair[],
  results: BravoPairResult[],
  riskLimit: number,
  sampleSize: number,
  fullCountAt: number,
): { status: AuditStatus; reason: string } {
  // A seat reported empty (fewer winners with votes than seats and lines) is a claim no pair
  // tests — "nobody else got a vote" — so no sample can confirm it: a scanner that read a
  // contest's marks as blank would otherwise pass its audit.
  const vacancy = reportedVacancy(contest)
  if (vacancy) return { status: 'full-hand-count-needed', reason: vacancy }
  const stuck = pairs.find((p) => !pairAuditable(p))
  // A tie (or a pair with no votes) has no margin: no sample can confirm it.
  if (stuck) return { status: 'full-hand-count-needed', reason: `${stuck.winner} over ${stuck.loser} has no margin to audit` }
  const open = results.filter((r) => !(r.T >= 1 / riskLimit))
  if (open.length === 0)
    return { status: 'confirmed', reason: pairs.length === 0 ? 'no loser: nothing to test' : 'every pair reached T ≥ 1/α' }
  if (sampleSize >= fullCountAt)
    return { status: 'full-hand-count-needed', reason: `${sampleSize} draws reached the full-count limit of ${fullCountAt}` }
  return { status: 'escalate', reason: `${open.length} pair(s) below 1/α: ${open.map((r) => `${r.winner}>${r.loser}`).join(', ')}` }
}

/** Why a contest's reported outcome leaves a seat (or the measure) without a reported winner; null when it does not. */
export function reportedVacancy(contest: ReportedContest): string | null {
  const { rules, votes } = contest
  const outcome = reportedWinners(rules, votes)
  if (rules.type === 'measure') return outcome.passes === null ? 'no votes reported on the measure' : null
  const seats = Math.min(rules.numberElected, resultLines(rules).length)
  return outcome.winners.length < seats
    ? `${seats - outcome.winners.length} of ${seats} seat(s) reported with no candidate that got a vote`
    : null
}

function checkRiskLimit(riskLimit: number) {
  if (!(riskLimit > 0 && riskLimit < 1 && Number.isFinite(Math.log(1 / riskLimit))))
    throw new RangeError(`the risk limit is a fraction in (0, 1) (got ${riskLimit})`)
}

/**
 * The average sample number of the BRAVO paper (§ "Expected sample size"):
 *
 *   ASN ≈ (ln(1/α) + z_w/2) / (p_w·z_w + p_l·z_l),  z_w = ln(s_w/½),  z_l = ln((1 − s_w)/½)
 *
 * with p_w, p_l the winner's and loser's shares of all N ballots (so ballots for neither
 * dilute the margin) and s_w = p_w/(p_w + p_l). It assumes the reported shares are the true
 * ones. Infinity when the pair has no margin. `nullShare` generalises ½ for measures.
 */
export function bravoAsn(pWinner: number, pLoser: number, riskLimit: number, nullShare = 0.5): number {
  checkRiskLimit(riskLimit)
  const s = pWinner / (pWinner + pLoser)
  if (!(s > nullShare)) return Number.POSITIVE_INFINITY
  const zw = Math.log(s / nullShare)
  const zl = pLoser > 0 ? Math.log((1 - s) / (1 - nullShare)) : 0
  const drift = pWinner * zw + pLoser * zl
  return drift > 0 ? (Math.log(1 / riskLimit) + zw / 2) / drift : Number.POSITIVE_INFINITY
}

/** The contest's ASN: its hardest pair's, rounded up (Infinity when a pair has no margin). */
export function bravoExpectedSampleSize(contest: ReportedContest, riskLimit: number): number {
  const n = contest.ballots
  let worst = 0
  for (const p of reportedPairs(contest)) worst = Math.max(worst, bravoAsn(p.winnerVotes / n, p.loserVotes / n, riskLimit, p.nullShare))
  return Math.ceil(worst)
}

/**
 * A round size that confirms a correct outcome with probability `quantile` (e.g. 0.9) when
 * T is looked at once, at the round's end: Mark Lindeman's method, as Arlo uses it
 * (votingworks/arlo, server/audit_math/bravo.py, bravo_sample_sizes). Among n ballots that
 * vote for the winner or the loser, the winner's count X is Binomial(n, s_w); the pair is
 * confirmed when X·ln(s_w/½) + (n − X)·ln((1 − s_w)/½) exceeds ln(1/α) less what the sample
 * already holds. A normal approximation gives a first n; then n grows until the binomial's
 * (1 − quantile)-quantile of X clears the bar (exact, so the probability is guaranteed). n is
 * finally divided by p_w + p_l, the share of ballots that vote for either.
 *
 * Returns 0 when the sample already confirms the pair, Infinity when it never can.
 */
export function bravoRoundSize(
  pWinner: number,
  pLoser: number,
  riskLimit: number,
  quantile: number,
  options: { nullShare?: number; sampledWinner?: number; sampledLoser?: number; cap?: number } = {},
): number {
  checkRiskLimit(riskLimit)
  // Beyond `cap` ballots the answer is "more than the audit would draw": the exact search
  // below walks n one at a time, and a near-tie would keep it (and the event loop) busy for hours.
  const cap = options.cap ?? Number.POSITIVE_INFINITY
  if (!(quantile > 0 && quantile < 1)) throw new RangeError(`the probability of stopping is in (0, 1) (got ${quantile})`)
  const p0 = options.nullShare ?? 0.5
  const both = pWinner + pLoser
  const s = pWinner / both
  if (!(s > p0)) return Number.POSITIVE_INFINITY
  const plus = Math.log(s / p0)
  const minus = Math.log((1 - s) / (1 - p0))
  // 0 × −∞ (a share of 1: no loser ballot expected, none seen) is no evidence either way.
  const w = options.sampledWinner ?? 0
  const l = options.sampledLoser ?? 0
  const threshold = Math.log(1 / riskLimit) - ((w === 0 ? 0 : w * plus) + (l === 0 ? 0 : l * minus))
  if (threshold <= 0) return 0
  // A landslide with no loser votes: every ballot counts plus; no randomness to allow for.
  if (!Number.isFinite(minus)) return Math.ceil(Math.floor(threshold / plus + 1) / both)

  // E[X] + z·sd(X) = the bar, as a quadratic in n; the larger root for quantile > ½.
  const z = -normalQuantile(quantile)
  const d = s * (1 - s)
  const f = threshold / (plus - minus)
  const g = minus / (plus - minus) + s
  const qa = g * g
  const qb = -(z * z * d + 2 * f * g)
  const qc = f * f
  const radical = Math.sqrt(Math.max(0, qb * qb - 4 * qa * qc))
  let n = Math.max(1, Math.floor((quantile > 0.5 ? -qb + radical : -qb - radical) / (2 * qa)))
  for (;;) {
    if (!(n / both <= cap)) return Number.POSITIVE_INFINITY
    const x = binomialQuantile(1 - quantile, n, s)
    if (x * plus + (n - x) * minus > threshold) break
    n++
  }
  return Math.ceil(n / both)
}

/** The contest's round size: its hardest pair's, given what the sample so far already holds. */
export function bravoContestRoundSize(
  contest: ReportedContest,
  riskLimit: number,
  quantile: number,
  soFar?: BravoContestResult,
  cap?: number,
): number {
  const n = contest.ballots
  let worst = 0
  for (const p of reportedPairs(contest)) {
    const seen = soFar?.pairs.find((r) => r.winner === p.winner && r.loser === p.loser)
    const size = bravoRoundSize(p.winnerVotes / n, p.loserVotes / n, riskLimit, quantile, {
      nullShare: p.nullShare,
      sampledWinner: seen?.winnerBallots ?? 0,
      sampledLoser: seen?.loserBallots ?? 0,
      cap,
    })
    worst = Math.max(worst, size)
  }
  return worst
}

/**
 * The smallest k with P(X ≤ k) ≥ q for X ~ Binomial(n, p). The probabilities are built up
 * from ln P(X = 0) by the ratio of neighbours, so that n in the thousands does not underflow
 * the terms that matter.
 */
export function binomialQuantile(q: number, n: number, p: number): number {
  if (p <= 0) return 0
  if (p >= 1) return n
  const odds = Math.log(p / (1 - p))
  let logPmf = n * Math.log1p(-p)
  let cdf = 0
  for (let k = 0; k < n; k++) {
    cdf += Math.exp(logPmf)
    // A relative slack of 1e-12 absorbs rounding in the sum (scipy's ppf allows the same).
    if (cdf >= q * (1 - 1e-12)) return k
    logPmf += Math.log((n - k) / (k + 1)) + odds
  }
  return n
}

/**
 * The standard normal quantile, by Peter Acklam's rational approximation (relative error
 * below 1.2e-9: plenty for a starting point that the exact binomial search then corrects).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a probability in (0, 1) (got ${p})`)
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number]
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number]
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number]
  const [d0, d1, d2, d3] = d as [number, number, number, number]
  const low = 0.02425
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p))
    const x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    return p < low ? x : -x
  }
  const q = p - 0.5
  const r = q * q
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
}
