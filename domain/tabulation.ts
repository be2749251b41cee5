import type { Mark, Marks, RejectionReason } from './ballot.ts'
import { type ContestRules, type ResolvedDefinition, WRITE_IN_SELECTION } from './contests.ts'
import { canonicalRanking, type Ranking, validateRanking } from './rcv/ballot.ts'

/**
 * How one ballot's marks count, contest by contest, as real tabulators apply the rules:
 *
 * - more marks in a contest than it allows: an **overvote**; nothing in that contest
 *   counts, the rest of the ballot does;
 * - fewer: each missing mark is an **undervote** (a blank contest is votesAllowed of them);
 * - a contest not on the voter's ballot style, an unknown selection, a name written in
 *   where there is no write-in line, a selection marked twice: the ballot is not a ballot
 *   of this election, and is rejected whole with that reason.
 *
 * A ranked-choice contest's marks are its ranks (rcvRanking). Its rounds are tabulated
 * from the ballot box (domain/rcv/); what it adds to the running counts is the ballot's
 * **first choice**: the candidate at its first marked rank, an overvote when that rank has
 * two or more, an undervote when nothing is ranked — one of the three, as for vote for 1.
 *
 * Every contest on the style yields exactly one outcome, so for each contest × region ×
 * channel: Σ selections + undervotes + overvotes × votesAllowed = ballots × votesAllowed.
 */

export interface ContestOutcome {
  contestId: string
  /** The selections counted (empty for an overvote): declared ids, or the write-in line. */
  selections: string[]
  undervotes: number
  /** 1 when the contest is overvoted on this ballot, else 0. */
  overvoted: 0 | 1
}

export type Tabulated =
  | {
      ok: true
      styleId: string
      contests: ContestOutcome[]
      /**
       * The marks as they go into the ballot box: as given, except a ranked contest's
       * ranking in its canonical form (each rank a sorted list, blank ranks after the last
       * marked one dropped), the form the rounds are counted by.
       */
      marks: Marks
    }
  | { ok: false; reason: RejectionReason; detail: string }

/** The definition indexed for the counter: built once per election and cached. */
export interface TabulationIndex {
  resolved: ResolvedDefinition
  contests: Map<string, ContestRules>
  /** Contest id → its declared selections (write-in line excluded). */
  selections: Map<string, Set<string>>
  /** Style id → its contests, as a set (a ballot's marks are checked against it). */
  onStyle: Map<string, Set<string>>
}

export function indexDefinition(resolved: ResolvedDefinition): TabulationIndex {
  return {
    resolved,
    contests: new Map(resolved.contests.map((c) => [c.id, c])),
    selections: new Map(resolved.contests.map((c) => [c.id, new Set(c.selections.map((s) => s.id))])),
    onStyle: new Map([...resolved.styles].map(([id, list]) => [id, new Set(list)])),
  }
}

export function tabulateBallot(index: TabulationIndex, regionId: string, marks: Marks): Tabulated {
  const styleId = index.resolved.styleOfRegion.get(regionId)
  if (styleId === undefined) return { ok: false, reason: 'unknown_region', detail: `no region ${regionId} in the election's definition` }
  const onStyle = index.resolved.styles.get(styleId) ?? []
  const allowed = index.onStyle.get(styleId) ?? new Set<string>()
  for (const contestId in marks) {
    if (!Object.hasOwn(marks, contestId)) continue
    const contest = index.contests.get(contestId)
    if (!contest) return { ok: false, reason: 'unknown_contest', detail: `no contest ${contestId} in this election` }
    if (!allowed.has(contestId))
      return { ok: false, reason: 'contest_not_on_style', detail: `contest ${contestId} is not on the ballot of region ${regionId}` }
    const problem = contest.rcv ? checkRanking(index, contest, marks[contestId] ?? []) : checkMarks(index, contest, marks[contestId] ?? [])
    if (problem) return { ok: false, ...problem }
  }
  let boxed = marks
  const contests: ContestOutcome[] = onStyle.map((contestId) => {
    const contest = index.contests.get(contestId) as ContestRules
    // Own keys only: a contest called `constructor` must not find Object's.
    const made = (Object.hasOwn(marks, contestId) ? marks[contestId] : undefined) ?? []
    if (contest.rcv) {
      const ranking = canonicalRanking(rcvRanking(made))
      if (made.length > 0) boxed = { ...boxed, [contestId]: ranking }
      return firstChoice(contestId, ranking)
    }
    if (made.length > contest.votesAllowed) return { contestId, selections: [], undervotes: 0, overvoted: 1 }
    return {
      contestId,
      selections: made.map((m) => (typeof m === 'string' ? m : WRITE_IN_SELECTION)),
      undervotes: contest.votesAllowed - made.length,
      overvoted: 0,
    }
  })
  return { ok: true, styleId, contests, marks: boxed }
}

/** A ranked contest's marks as a ranking: each rank's marks, a plain id being one mark. Write-ins were refused before. */
export function rcvRanking(made: readonly Mark[]): Ranking {
  return made.map((m) => (typeof m === 'string' ? [m] : Array.isArray(m) ? m : []))
}

/** What a ranked contest adds to the running counts: its first marked rank (see the module's comment). */
function firstChoice(contestId: string, ranking: Ranking): ContestOutcome {
  const first = ranking.find((marks) => marks.length > 0)
  if (!first) return { contestId, selections: [], undervotes: 1, overvoted: 0 }
  if (first.length > 1) return { contestId, selections: [], undervotes: 0, overvoted: 1 }
  return { contestId, selections: [first[0] as string], undervotes: 0, overvoted: 0 }
}

function checkRanking(index: TabulationIndex, contest: ContestRules, made: Mark[]): { reason: RejectionReason; detail: string } | null {
  if (made.some((m) => typeof m === 'object' && !Array.isArray(m)))
    return { reason: 'write_in_not_allowed', detail: `contest ${contest.id} is ranked and has no write-in line` }
  const checked = validateRanking(
    { ranksAllowed: contest.rcv?.ranksAllowed ?? 0, candidates: index.selections.get(contest.id) as Set<string> },
    rcvRanking(made),
  )
  return checked.ok ? null : { reason: checked.reason, detail: `contest ${contest.id}: ${checked.message}` }
}

function checkMarks(index: TabulationIndex, contest: ContestRules, marks: Mark[]): { reason: RejectionReason; detail: string } | null {
  const declared = index.selections.get(contest.id) as Set<string>
  const seen = new Set<string>()
  for (const m of marks) {
    if (Array.isArray(m)) return { reason: 'malformed_mark', detail: `contest ${contest.id} is not ranked: its marks are ids, not ranks` }
    if (typeof m === 'string') {
      if (!declared.has(m)) return { reason: 'unknown_selection', detail: `no selection ${m} in contest ${contest.id}` }
      if (seen.has(m)) return { reason: 'malformed_mark', detail: `selection ${m} marked twice in contest ${contest.id}` }
      seen.add(m)
    } else if (!contest.writeIns) return { reason: 'write_in_not_allowed', detail: `contest ${contest.id} has no write-in line` }
  }
  return null
}

/** One cell of the count: contest × region × channel, as the invariant needs it. */
export interface ContestCell {
  votesAllowed: number
  ballots: number
  undervotes: number
  overvotes: number
  /** Σ over the contest's selections (write-in line included). */
  selectionVotes: number
}

/** Σ selections + undervotes + overvotes × votesAllowed = ballots × votesAllowed. */
export function cellBalances(c: ContestCell): boolean {
  return c.selectionVotes + c.undervotes + c.overvotes * c.votesAllowed === c.ballots * c.votesAllowed
}
