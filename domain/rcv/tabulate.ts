import { sha256Hex } from '../sha256.ts'
import { canonicalRanking, type Ranking } from './ballot.ts'
import type { RcvRules } from './rules.ts'

/**
 * Instant-runoff tabulation, round by round, following RCTab's single-winner tabulator
 * (github.com/BrightSpots/rcv, Tabulator.java) rule for rule:
 *
 * Reading a ballot in a round. The ballot is read from its 1st rank down, against the
 * candidates still continuing; the first of these events decides it:
 *
 * 1. no marks at all: an **undervote** (RCTab "didNotRankAnyCandidates"): counted apart,
 *    never an inactive ballot and never in a round's tallies;
 * 2. ranks with no marks are passed over; at the next marked rank, if more than
 *    maxSkippedRanksAllowed ranks were passed over since the previous marked rank (or since
 *    the top of the ballot), the ballot is inactive by **skipped rankings**;
 * 3. with duplicateRankingRule exhaustOnDuplicate, a candidate already met higher up on the
 *    ballot (overvoted ranks included) makes it inactive by **repeated rankings**;
 * 4. an overvoted rank makes it inactive by **overvotes** under exhaustImmediately (whether
 *    or not the candidates in it are continuing); under alwaysSkipToNextRank the rank is
 *    passed over (it is a marked rank, not a skipped one) — and if it was the last marked
 *    rank, the ballot is inactive by **exhausted choices**, as RCTab counts it;
 * 5. a continuing candidate: the ballot counts for them;
 * 6. past the last marked rank with no continuing candidate: inactive by **exhausted choices**.
 *
 * Eliminated candidates never come back, so a ballot read afresh each round gives what
 * reading on from where it stood gives (RCTab keeps the position; the result is the same):
 * a ballot's state in a round depends only on its ranking and the continuing candidates.
 * That is what makes counting per distinct ranking (RankingPattern) exact.
 *
 * A round. Tallies of the continuing candidates; threshold = floor(continuing votes / 2) + 1
 * (RCTab's single-winner threshold: a majority of the votes still counting in this round).
 * Then, in this order:
 * - one continuing candidate left: elected;
 * - a candidate at or over the threshold: elected;
 * - two left and tied (the only way two can both miss a majority): the tie-break elects one;
 * - otherwise eliminate: with batchElimination, every candidate of the lowest group whose
 *   combined votes are fewer than the votes of the next candidate up, when that group has two
 *   or more (RCTab's runBatchElimination); otherwise the one lowest, a tie for lowest broken
 *   by the tie-break. Their ballots move to the next continuing choice — the transfers.
 *
 * The tie-break (seededDraw, breakTie): previousRoundCountsThenRandom first looks back round
 * by round for the fewest votes (the most, when electing) among those tied, as RCTab does;
 * what is still tied, and every tie under `random`, goes to the seeded draw. RCTab's draw is
 * java.util.Random seeded with an integer, consumed in sequence over the whole count; this one
 * is a hash per tie, which anyone can recompute for one tie without replaying the others.
 */

export const INACTIVE_CAUSES = ['overvotes', 'skippedRankings', 'exhaustedChoices', 'repeatedRankings'] as const
/** RCTab's camelCase keys of inactive ballots (its summary's `inactiveBallots`). */
export type InactiveCause = (typeof INACTIVE_CAUSES)[number]
/** The transfer target for ballots that became inactive, for any cause (RCTab: "exhausted"). */
export const EXHAUSTED = 'exhausted'

/** Identical rankings counted once: the unit of the fast tabulation. */
export interface RankingPattern {
  ranking: Ranking
  count: number
}

export interface RcvTiebreak {
  purpose: 'elimination' | 'election'
  /** The candidates tied, with `votes` each, in candidate order. */
  tied: string[]
  votes: number
  selected: string
  /** previousRoundCounts: round `decidingRound` separated them; seededDraw: the draw did. */
  method: 'previousRoundCounts' | 'seededDraw'
  decidingRound?: number
  /** When the draw decided: the candidates still tied, in the draw's order (the first is selected). */
  draw?: SeededDrawEntry[]
}

export interface RcvRound {
  /** 1, 2, … */
  round: number
  /** Every continuing candidate's votes, in candidate order. */
  tally: Record<string, number>
  /** Σ tally: the ballots counting for a continuing candidate. */
  continuingVotes: number
  /** floor(continuingVotes / 2) + 1. */
  threshold: number
  /** Inactive ballots as they stand in this round (cumulative), by cause; undervotes are not among them. */
  inactive: Record<InactiveCause, number>
  /** Elected at the end of this round (the last round), else undefined. */
  elected?: string
  /** Eliminated at the end of this round, in candidate order (empty in the last round). */
  eliminated: string[]
  /** True when `eliminated` is a batch elimination (two or more at once). */
  batchElimination: boolean
  /**
   * Where each eliminated candidate's ballots went: to each candidate continuing into the
   * next round (zeros included, candidate order) and to EXHAUSTED (inactive for any cause).
   */
  transfers: Record<string, Record<string, number>>
  tiebreak?: RcvTiebreak
}

export interface RcvResult {
  /** The contest's candidates, in the order given. */
  candidates: string[]
  /** Every ballot of the contest, undervotes included. */
  ballots: number
  undervotes: number
  rounds: RcvRound[]
  winner: string
}

/** Tabulate ballot by ballot: identical rankings are grouped first, then the rounds run over the groups. */
export function tabulate(rules: RcvRules, candidates: readonly string[], ballots: Iterable<Ranking>): RcvResult {
  const index = candidateIndex(candidates)
  return runRounds(rules, candidates, groupRankings(index, rules.ranksAllowed, ballots).patterns)
}

/** Tabulate rankings already counted per distinct ranking (e.g. kept by the live count). */
export function tabulatePatterns(rules: RcvRules, candidates: readonly string[], patterns: Iterable<RankingPattern>): RcvResult {
  const index = candidateIndex(candidates)
  const compiled: Compiled[] = []
  for (const p of patterns) {
    if (!Number.isSafeInteger(p.count) || p.count < 0) throw new Error(`a ranking's count must be a whole number ≥ 0, not ${p.count}`)
    compiled.push({ ranks: compile(index, rules.ranksAllowed, p.ranking), count: p.count })
  }
  return runRounds(rules, candidates, compiled)
}

/** Group identical rankings (canonicalRanking: overvotes as sets, trailing blank ranks dropped), counting each. */
export function aggregateRankings(candidates: readonly string[], ballots: Iterable<Ranking>, ranksAllowed = Infinity): RankingPattern[] {
  const index = candidateIndex(candidates)
  const { patterns, first } = groupRankings(index, ranksAllowed, ballots)
  return patterns.map((p, i) => ({ ranking: canonicalRanking(first[i] as Ranking), count: p.count }))
}

// ---------------------------------------------------------------------------------------
// Internals. A ranking is compiled to candidate indices: ranks[r] = indices marked at rank r
// (sorted, distinct), trailing blank ranks dropped.

interface Compiled {
  ranks: number[][]
  count: number
}

function candidateIndex(candidates: readonly string[]): Map<string, number> {
  if (candidates.length === 0) throw new Error('a ranked-choice contest needs at least one candidate')
  if (candidates.length > 65_000) throw new Error('more than 65,000 candidates')
  const index = new Map<string, number>()
  for (const [i, c] of candidates.entries()) {
    if (c === EXHAUSTED) throw new Error(`"${EXHAUSTED}" is reserved for inactive ballots and cannot be a candidate id`)
    if (index.has(c)) throw new Error(`candidate ${c} listed twice`)
    index.set(c, i)
  }
  return index
}

function indexOf(index: Map<string, number>, id: string): number {
  const i = index.get(id)
  if (i === undefined)
    throw new Error(`a ranking names ${id}, who is not a candidate of this contest (validate rankings before tabulating)`)
  return i
}

function compile(index: Map<string, number>, ranksAllowed: number, ranking: Ranking): number[][] {
  let end = ranking.length
  while (end > 0 && (ranking[end - 1]?.length ?? 0) === 0) end--
  if (end > ranksAllowed) throw new Error(`a ranking marks rank ${end}; the contest allows ${ranksAllowed}`)
  const ranks: number[][] = []
  for (let r = 0; r < end; r++) {
    const marks = ranking[r] as readonly string[]
    if (marks.length === 1) ranks.push([indexOf(index, marks[0] as string)])
    else ranks.push([...new Set(marks.map((id) => indexOf(index, id)))].sort((a, b) => a - b))
  }
  return ranks
}

/**
 * The hot path of a full re-tabulation: one pass over the ballots, each keyed by a short
 * string of char codes (candidate index + 1 per mark, 0 closing each rank) — no JSON, no
 * per-ballot arrays beyond the key's codes. A ranking is compiled once per distinct key.
 */
function groupRankings(
  index: Map<string, number>,
  ranksAllowed: number,
  ballots: Iterable<Ranking>,
): { patterns: Compiled[]; first: Ranking[] } {
  const byKey = new Map<string, Compiled>()
  const patterns: Compiled[] = []
  const first: Ranking[] = []
  const codes: number[] = []
  for (const ranking of ballots) {
    codes.length = 0
    let end = ranking.length
    while (end > 0 && (ranking[end - 1] as readonly string[]).length === 0) end--
    for (let r = 0; r < end; r++) {
      const marks = ranking[r] as readonly string[]
      if (marks.length === 1) codes.push(indexOf(index, marks[0] as string) + 1)
      else if (marks.length > 1)
        for (const i of [...new Set(marks.map((id) => indexOf(index, id)))].sort((a, b) => a - b)) codes.push(i + 1)
      codes.push(0)
    }
    const key = String.fromCharCode(...codes)
    const found = byKey.get(key)
    if (found) found.count++
    else {
      const p = { ranks: compile(index, ranksAllowed, ranking), count: 1 }
      byKey.set(key, p)
      patterns.push(p)
      first.push(ranking)
    }
  }
  return { patterns, first }
}

const UNDERVOTE = -1 - INACTIVE_CAUSES.length
const OVERVOTES = -1 - INACTIVE_CAUSES.indexOf('overvotes')
const SKIPPED = -1 - INACTIVE_CAUSES.indexOf('skippedRankings')
const EXHAUSTED_CHOICES = -1 - INACTIVE_CAUSES.indexOf('exhaustedChoices')
const REPEATED = -1 - INACTIVE_CAUSES.indexOf('repeatedRankings')

/**
 * Where a ballot stands given the continuing candidates: a candidate index (≥ 0), or a
 * negative code: -1 - INACTIVE_CAUSES index, or UNDERVOTE. The numbered steps of the header.
 */
function scanner(rules: RcvRules, continuing: Uint8Array): (ranks: number[][]) => number {
  const exhaustOnOvervote = rules.overvoteRule === 'exhaustImmediately'
  const maxSkipped = rules.maxSkippedRanksAllowed === 'unlimited' ? Number.POSITIVE_INFINITY : rules.maxSkippedRanksAllowed
  const exhaustOnDuplicate = rules.duplicateRankingRule === 'exhaustOnDuplicate'
  // Candidates met on this ballot so far: seen[c] === stamp, without clearing between ballots.
  const seen = new Uint32Array(continuing.length)
  let stamp = 0
  return (ranks) => {
    const last = ranks.length - 1
    if (last < 0) return UNDERVOTE
    stamp++
    let lastMarked = -1
    for (let r = 0; r <= last; r++) {
      const marks = ranks[r] as number[]
      if (marks.length === 0) continue
      if (r - lastMarked - 1 > maxSkipped) return SKIPPED
      lastMarked = r
      if (exhaustOnDuplicate) {
        for (const c of marks) {
          if (seen[c] === stamp) return REPEATED
          seen[c] = stamp
        }
      }
      if (marks.length > 1) {
        if (exhaustOnOvervote) return OVERVOTES
        if (r === last) return EXHAUSTED_CHOICES
        continue
      }
      const c = marks[0] as number
      if (continuing[c] === 1) return c
    }
    return EXHAUSTED_CHOICES
  }
}

function runRounds(rules: RcvRules, candidates: readonly string[], patterns: Compiled[]): RcvResult {
  if (rules.numberElected !== 1)
    throw new Error('only single-winner instant runoff (numberElected: 1) is supported; multi-winner STV is not')
  const n = candidates.length
  const continuing = new Uint8Array(n).fill(1)
  const scan = scanner(rules, continuing)
  const tally = new Array<number>(n).fill(0)
  const inactive = INACTIVE_CAUSES.map(() => 0)
  const holding: number[][] = Array.from({ length: n }, () => [])
  let undervotes = 0
  let ballots = 0
  for (let p = 0; p < patterns.length; p++) {
    const { ranks, count } = patterns[p] as Compiled
    if (count === 0) continue
    ballots += count
    const s = scan(ranks)
    if (s >= 0) {
      tally[s] = (tally[s] as number) + count
      ;(holding[s] as number[]).push(p)
    } else if (s === UNDERVOTE) undervotes += count
    else inactive[-1 - s] = (inactive[-1 - s] as number) + count
  }

  const rounds: RcvRound[] = []
  const history: number[][] = []
  for (let round = 1; ; round++) {
    const alive: number[] = []
    for (let c = 0; c < n; c++) if (continuing[c] === 1) alive.push(c)
    history.push([...tally])
    let continuingVotes = 0
    for (const c of alive) continuingVotes += tally[c] as number
    const threshold = Math.floor(continuingVotes / 2) + 1
    const record: RcvRound = {
      round,
      tally: Object.fromEntries(alive.map((c) => [candidates[c], tally[c]])),
      continuingVotes,
      threshold,
      inactive: Object.fromEntries(INACTIVE_CAUSES.map((k, i) => [k, inactive[i]])) as Record<InactiveCause, number>,
      eliminated: [],
      batchElimination: false,
      transfers: {},
    }
    rounds.push(record)

    let elected = alive.length === 1 ? alive[0] : alive.find((c) => (tally[c] as number) >= threshold)
    if (elected === undefined && alive.length === 2) {
      const tie = breakTie(rules, candidates, alive, round, history, 'election')
      elected = tie.selected
      record.tiebreak = tie.record
    }
    if (elected !== undefined) {
      record.elected = candidates[elected]
      return { candidates: [...candidates], ballots, undervotes, rounds, winner: candidates[elected] as string }
    }

    let losers = rules.batchElimination ? batchLosers(alive, tally) : []
    if (losers.length > 1) record.batchElimination = true
    else {
      const fewest = Math.min(...alive.map((c) => tally[c] as number))
      const lowest = alive.filter((c) => tally[c] === fewest)
      if (lowest.length === 1) losers = lowest
      else {
        const tie = breakTie(rules, candidates, lowest, round, history, 'elimination')
        losers = [tie.selected]
        record.tiebreak = tie.record
      }
    }
    losers.sort((a, b) => a - b)
    for (const l of losers) continuing[l] = 0
    const remaining = alive.filter((c) => continuing[c] === 1)
    for (const l of losers) {
      const moved = new Array<number>(n).fill(0)
      let exhausted = 0
      for (const p of holding[l] as number[]) {
        const { ranks, count } = patterns[p] as Compiled
        const s = scan(ranks)
        if (s >= 0) {
          moved[s] = (moved[s] as number) + count
          tally[s] = (tally[s] as number) + count
          ;(holding[s] as number[]).push(p)
        } else {
          exhausted += count
          inactive[-1 - s] = (inactive[-1 - s] as number) + count
        }
      }
      holding[l] = []
      tally[l] = 0
      const to: Record<string, number> = {}
      for (const c of remaining) to[candidates[c] as string] = moved[c] as number
      to[EXHAUSTED] = exhausted
      record.transfers[candidates[l] as string] = to
    }
    record.eliminated = losers.map((l) => candidates[l] as string)
  }
}

/**
 * RCTab's batch elimination: walk the distinct tallies upwards keeping a running total of
 * the candidates below; wherever that total is less than the next tally, no candidate below
 * can overtake the one above even with every vote of the others below, so all of them go.
 * The largest such group is eliminated (only if it has two or more: one is a regular
 * elimination).
 */
function batchLosers(alive: number[], tally: number[]): number[] {
  const sorted = [...alive].sort((a, b) => (tally[a] as number) - (tally[b] as number))
  let running = 0
  let losers: number[] = []
  for (let i = 0; i < sorted.length; ) {
    const v = tally[sorted[i] as number] as number
    if (running < v) losers = sorted.slice(0, i)
    let j = i
    while (j < sorted.length && tally[sorted[j] as number] === v) j++
    running += v * (j - i)
    i = j
  }
  return losers
}

export interface SeededDrawEntry {
  candidate: string
  /** SHA-256 (hex) of `${seed}:${round}:${candidate}`, UTF-8. */
  sha256: string
}

/**
 * The seeded draw among tied candidates: each candidate's SHA-256 of
 * `${tiebreakSeed}:${round}:${candidateId}` (UTF-8, hex), in ascending order; the first is
 * the one the tie-break selects — to be eliminated, or elected when the last two are tied.
 * Anyone can check it: `printf '%s' 'seed:3:cand' | sha256sum`. The round is in the hash so
 * two ties between the same candidates in different rounds are separate draws. The domain's
 * SHA-256 (domain/sha256.ts), not node:crypto: a tabulation may run in Temporal's sandbox.
 */
export function seededDraw(seed: string, round: number, tied: readonly string[]): SeededDrawEntry[] {
  return tied
    .map((candidate) => ({ candidate, sha256: sha256Hex(`${seed}:${round}:${candidate}`) }))
    .sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0))
}

function breakTie(
  rules: RcvRules,
  candidates: readonly string[],
  tied: number[],
  round: number,
  history: number[][],
  purpose: 'elimination' | 'election',
): { selected: number; record: RcvTiebreak } {
  const base = {
    purpose,
    tied: tied.map((c) => candidates[c] as string),
    votes: (history[round - 1] as number[])[tied[0] as number] as number,
  }
  let contention = tied
  if (rules.tiebreakMode === 'previousRoundCountsThenRandom') {
    for (let r = round - 1; r >= 1; r--) {
      const counts = history[r - 1] as number[]
      const pick = purpose === 'elimination' ? Math.min : Math.max
      const extreme = pick(...contention.map((c) => counts[c] as number))
      contention = contention.filter((c) => counts[c] === extreme)
      if (contention.length === 1) {
        const selected = contention[0] as number
        return { selected, record: { ...base, selected: candidates[selected] as string, method: 'previousRoundCounts', decidingRound: r } }
      }
    }
  }
  const draw = seededDraw(
    rules.tiebreakSeed,
    round,
    contention.map((c) => candidates[c] as string),
  )
  const winner = (draw[0] as SeededDrawEntry).candidate
  return { selected: candidates.indexOf(winner), record: { ...base, selected: winner, method: 'seededDraw', draw } }
}
