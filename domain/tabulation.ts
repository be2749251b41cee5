import type { Mark, Marks, RejectionReason } from './ballot.ts'
import { type ContestRules, type ResolvedDefinition, WRITE_IN_SELECTION } from './contests.ts'

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

export type Tabulated = { ok: true; styleId: string; contests: ContestOutcome[] } | { ok: false; reason: RejectionReason; detail: string }

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
    const problem = checkMarks(index, contest, marks[contestId] ?? [])
    if (problem) return { ok: false, ...problem }
  }
  const contests: ContestOutcome[] = onStyle.map((contestId) => {
    const contest = index.contests.get(contestId) as ContestRules
    // Own keys only: a contest called `constructor` must not find Object's.
    const made = (Object.hasOwn(marks, contestId) ? marks[contestId] : undefined) ?? []
    if (made.length > contest.votesAllowed) return { contestId, selections: [], undervotes: 0, overvoted: 1 }
    return {
      contestId,
      selections: made.map((m) => (typeof m === 'string' ? m : WRITE_IN_SELECTION)),
      undervotes: contest.votesAllowed - made.length,
      overvoted: 0,
    }
  })
  return { ok: true, styleId, contests }
}

function checkMarks(index: TabulationIndex, contest: ContestRules, marks: Mark[]): { reason: RejectionReason; detail: string } | null {
  const declared = index.selections.get(contest.id) as Set<string>
  const seen = new Set<string>()
  for (const m of marks) {
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
