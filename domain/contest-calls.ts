import { z } from 'zod'
import { type ContestRules, measurePasses, WRITE_IN_SELECTION } from './contests.ts'

/**
 * Race calls per contest: each seat of a candidate contest, and a measure's pass or fail,
 * called only when no arrangement of the ballots still to come can change it. Pure; the
 * election workflow's activity is the one writer that records them (activities/race-calls.ts),
 * and every read shows only what it recorded.
 *
 * The bound: each ballot still to come adds at most one vote to a declared line of a
 * contest (a selection marked twice is refused), but up to votesAllowed votes to the
 * write-in line (a vote-for-N ballot may write N names in), and nothing is ever taken away
 * from a line. So a candidate keeps a seat whatever comes when fewer than N other lines
 * could reach their votes with every outstanding ballot's most added to each at once;
 * and a measure stays on its side of the threshold when every outstanding ballot voting the
 * other way cannot move it across.
 */

export const CONTEST_CALL_OUTCOMES = ['elected', 'passes', 'fails'] as const
export type ContestCallOutcome = (typeof CONTEST_CALL_OUTCOMES)[number]

export const contestCallFiguresSchema = z.object({
  /** Candidate contests: the candidate's votes; measures: yes votes. */
  votes: z.number(),
  /** Candidate contests: the votes of the N-th strongest other line (the one that would have to overtake); measures: no votes. */
  against: z.number(),
  outstanding: z.number(),
})
export type ContestCallFigures = z.infer<typeof contestCallFiguresSchema>

export const contestCallSchema = z.object({
  contestId: z.string(),
  /** The candidate called elected; null for a measure. */
  selectionId: z.string().nullable(),
  outcome: z.enum(CONTEST_CALL_OUTCOMES),
  rule: z.string(),
  figures: contestCallFiguresSchema,
  calledAt: z.string(),
  status: z.enum(['standing', 'retracted']),
  retraction: z.object({ at: z.string(), reason: z.string() }).nullable(),
})
export type ContestCall = z.infer<typeof contestCallSchema>

/**
 * A call as public outputs show it. While an election counts, public counts move in steps
 * (domain/results-release.ts) but a call is decided on the counts themselves: its figures
 * and a retraction's reason would show the live counts between two steps, and the final
 * count minus a call's figures can be one late ballot's marks. So until counting has
 * finished they are withheld (the recorded call keeps them, for the audit trail).
 */
export const publicContestCallSchema = contestCallSchema.extend({
  figures: contestCallFiguresSchema.nullable(),
  retraction: z.object({ at: z.string(), reason: z.string() }).nullable(),
})
export type PublicContestCall = z.infer<typeof publicContestCallSchema>

export const publicContestCall = (call: ContestCall, countingFinished: boolean): PublicContestCall =>
  countingFinished
    ? call
    : {
        ...call,
        figures: null,
        retraction: call.retraction && {
          at: call.retraction.at,
          reason: 'the counts contradicted it (figures shown once counting has finished)',
        },
      }

export type ContestCallDecision = Pick<ContestCall, 'contestId' | 'selectionId' | 'outcome' | 'rule' | 'figures'>

/** Votes per line of a contest (declared selections, and the write-in line where it has one). */
export type LineVotes = ReadonlyMap<string, number>

/**
 * The calls a contest's counts allow now, given the ballots that may still come (`bound`,
 * from domain/results.ts's outstandingBallots; null: unbounded, nothing is called). Calls
 * already standing are not decided again.
 */
export function decideContestCalls(
  rules: ContestRules,
  votes: LineVotes,
  bound: { outstanding: number; rule: string } | null,
  standing: ReadonlyArray<Pick<ContestCall, 'selectionId'>>,
): ContestCallDecision[] {
  if (!bound) return []
  // A ranked contest's first choices do not decide it: the rounds do. No sound bound on
  // what the outstanding rankings can do to the rounds is computed yet, so nothing is
  // called from counts (issue 27: "if none can be shown, the contest is not called").
  if (rules.rcv) return []
  if (rules.type === 'measure') {
    if (standing.length > 0) return []
    const call = measureCall(rules, votes, bound.outstanding)
    return call
      ? [{ contestId: rules.id, selectionId: null, outcome: call, rule: bound.rule, figures: measureFigures(votes, bound.outstanding) }]
      : []
  }
  const called = new Set(standing.map((c) => c.selectionId))
  const out: ContestCallDecision[] = []
  for (const s of rules.selections) {
    if (called.has(s.id)) continue
    const mine = votes.get(s.id) ?? 0
    const against = nthStrongestOther(rules, votes, s.id, bound.outstanding)
    // A seat, whatever comes: even with every outstanding ballot's most given to each other
    // line, fewer than numberElected of them reach this candidate's votes (a tie is not a
    // seat). With fewer other lines than seats, nobody can take it.
    if (mine > 0 && (against === null || against.reach < mine))
      out.push({
        contestId: rules.id,
        selectionId: s.id,
        outcome: 'elected',
        rule: bound.rule,
        figures: { votes: mine, against: against?.votes ?? 0, outstanding: bound.outstanding },
      })
  }
  return out
}

/**
 * Why the counts contradict a standing call, or null when they do not: numberElected other
 * lines have caught up with a candidate called elected, or a measure stands on the other
 * side of its threshold. The rule promised neither could happen; at the final count the
 * same test says whether the certified result bears the call out (a tie for the last seat
 * does not).
 */
export function contestCallContradiction(
  rules: ContestRules,
  call: Pick<ContestCall, 'selectionId' | 'outcome'>,
  votes: LineVotes,
): string | null {
  // A ranked contest's first choices neither make nor break its call: its rounds do (rcv/calls.ts).
  if (rules.rcv) return null
  if (call.outcome === 'elected') {
    const id = call.selectionId ?? ''
    const mine = votes.get(id) ?? 0
    const rivals = [...lines(rules)].filter((l) => l !== id && (votes.get(l) ?? 0) >= mine)
    if (rivals.length >= rules.numberElected)
      return `${rivals.map((l) => `${l} has ${votes.get(l) ?? 0}`).join(', ')} against ${mine} for ${id}, with ${rules.numberElected} seat${rules.numberElected === 1 ? '' : 's'}`
    return null
  }
  const threshold = rules.threshold ?? { numerator: 1, denominator: 2 }
  const yes = votes.get('yes') ?? 0
  const no = votes.get('no') ?? 0
  const passes = measurePasses(threshold, yes, no)
  if (passes !== (call.outcome === 'passes'))
    return `yes ${yes} against no ${no} ${passes ? 'passes' : 'fails'} the threshold ${threshold.numerator}/${threshold.denominator}`
  return null
}

/** Whether a contest is decided by its standing calls: every seat called, or the measure called. */
export function decidedByCalls(rules: ContestRules, calls: ReadonlyArray<Pick<ContestCall, 'status' | 'outcome'>>): boolean {
  const standing = calls.filter((c) => c.status === 'standing')
  return rules.type === 'measure' ? standing.length > 0 : standing.filter((c) => c.outcome === 'elected').length >= rules.numberElected
}

function* lines(rules: ContestRules): Iterable<string> {
  for (const s of rules.selections) yield s.id
  // The write-in line is not a person (a seat it might take needs adjudication, so it is
  // never called elected), but its votes can still overtake a candidate.
  if (rules.writeIns) yield WRITE_IN_SELECTION
}

/**
 * The numberElected-th strongest line other than `id` by what it could reach with every
 * outstanding ballot (its votes now, and the reach), or null when there are fewer other
 * lines than seats.
 */
function nthStrongestOther(
  rules: ContestRules,
  votes: LineVotes,
  id: string,
  outstanding: number,
): { votes: number; reach: number } | null {
  const others = [...lines(rules)]
    .filter((l) => l !== id)
    .map((l) => {
      const now = votes.get(l) ?? 0
      // The write-in line takes up to votesAllowed votes from one ballot (N names written in).
      return { votes: now, reach: now + outstanding * (l === WRITE_IN_SELECTION ? rules.votesAllowed : 1) }
    })
    .sort((a, b) => b.reach - a.reach)
  return others[rules.numberElected - 1] ?? null
}

function measureCall(rules: ContestRules, votes: LineVotes, outstanding: number): 'passes' | 'fails' | null {
  const threshold = rules.threshold ?? { numerator: 1, denominator: 2 }
  const yes = votes.get('yes') ?? 0
  const no = votes.get('no') ?? 0
  if (yes + no === 0) return null
  if (measurePasses(threshold, yes, no + outstanding)) return 'passes'
  if (!measurePasses(threshold, yes + outstanding, no)) return 'fails'
  return null
}

function measureFigures(votes: LineVotes, outstanding: number): ContestCallFigures {
  return { votes: votes.get('yes') ?? 0, against: votes.get('no') ?? 0, outstanding }
}
