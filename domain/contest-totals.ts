import { z } from 'zod'
import type { PublicContestCall } from './contest-calls.ts'
import {
  breakdownSchema,
  contestOutcome,
  contestOutcomeSchema,
  contestOutstanding,
  contestThresholdSchema,
  isSmallCell,
  resultLines,
  thresholdOf,
} from './contest-results.ts'
import { type ContestRules, WRITE_IN_SELECTION } from './contests.ts'
import { SLOT, type StyleLayouts } from './count-vector.ts'

/**
 * Each contest's totals over the whole election, for the results snapshot (the SSE feed and
 * the `results` topic): what the per-contest route (contest-results.ts) shows at its top,
 * without the breakdown by region and channel, folded from the count vectors summed per
 * ballot style. The outcome, the recorded calls and the small-cell rule are
 * contest-results.ts's own functions, applied to the same numbers.
 */

export const snapshotContestSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['candidate', 'measure']),
  votesAllowed: z.number(),
  numberElected: z.number(),
  /** A measure's threshold; null for a candidate contest. */
  threshold: contestThresholdSchema.nullable(),
  /**
   * Totals over the whole election: ballots that carried the contest, undervotes, overvotes,
   * and votes per line (declared selections, and `write-in` where the contest has that
   * line). All null, with `suppressed`, while the contest has fewer ballots than the
   * minimum cell: a handful of ballots would show how those voters voted.
   */
  ...breakdownSchema.shape,
  /** The outcome over the whole election, as GET /elections/{id}/contests/{contestId} gives it; null while suppressed. */
  outcome: contestOutcomeSchema.nullable(),
})
export type SnapshotContest = z.infer<typeof snapshotContestSchema>

/** The element-wise sum of every vector of one ballot style (0-based; a block starts at `at - 1`). */
export interface StyleSum {
  styleId: string
  counts: number[]
}

/** Counts of 0015's tables (before vectors), summed per contest. */
export interface LegacyBallots {
  contestId: string
  ballots: number
  undervotes: number
  overvotes: number
}
/** Counts of 0015's tables (before vectors), summed per contest × line. */
export interface LegacyVotes {
  contestId: string
  selectionId: string
  votes: number
}

/** A region with its ballot style and the ballots counted there (each carries every contest of the style). */
export interface RegionTurnout {
  id: string
  styleId: string
  registeredVoters: number
  ballots: number
}

export function contestTotals(input: {
  /** In ballot order; selections in their stored order (the vector's). */
  contests: ContestRules[]
  /** Style → contest → where its block starts (1-based), as stored in `style_contests`. */
  layouts: StyleLayouts
  styles: StyleSum[]
  legacyBallots: LegacyBallots[]
  legacyVotes: LegacyVotes[]
  regions: RegionTurnout[]
  /** Counting has finished: nothing is outstanding. */
  finished: boolean
  /** The election's recorded contest calls (lib/db/contest-calls.ts). */
  calls: PublicContestCall[]
  minCellBallots: number
}): SnapshotContest[] {
  const acc = new Map<string, Totals>(input.contests.map((c) => [c.id, { ballots: 0, undervotes: 0, overvotes: 0, votes: new Map() }]))
  const lineSlots = new Map(
    input.contests.map((c) => [
      c.id,
      // Where each line sits in the contest's block (domain/count-vector.ts's layout).
      resultLines(c).map((line) => ({
        id: line.id,
        slot: line.id === WRITE_IN_SELECTION ? SLOT.writeIn : SLOT.firstSelection + c.selections.findIndex((s) => s.id === line.id),
      })),
    ]),
  )
  for (const s of input.styles) {
    const layout = input.layouts.get(s.styleId)
    if (!layout) throw new Error(`counts of style ${s.styleId}, which has no stored layout`)
    for (const [contestId, at] of layout) {
      const a = acc.get(contestId)
      const slots = lineSlots.get(contestId)
      if (!a || !slots) throw new Error(`style ${s.styleId} lays out contest ${contestId}, which the definition lacks`)
      const block = at - 1
      a.ballots += s.counts[block + SLOT.ballots] ?? 0
      a.undervotes += s.counts[block + SLOT.undervotes] ?? 0
      a.overvotes += s.counts[block + SLOT.overvotes] ?? 0
      for (const line of slots) a.votes.set(line.id, (a.votes.get(line.id) ?? 0) + (s.counts[block + line.slot] ?? 0))
    }
  }
  for (const l of input.legacyBallots) {
    const a = acc.get(l.contestId)
    if (!a) continue
    a.ballots += l.ballots
    a.undervotes += l.undervotes
    a.overvotes += l.overvotes
  }
  for (const l of input.legacyVotes) {
    const a = acc.get(l.contestId)
    if (a) a.votes.set(l.selectionId, (a.votes.get(l.selectionId) ?? 0) + l.votes)
  }

  const regionsOf = regionsOfContests(input.contests, input.layouts, input.regions)

  return input.contests.map((c) => {
    const a = acc.get(c.id) as Totals
    const head = {
      id: c.id,
      name: c.name,
      type: c.type,
      votesAllowed: c.votesAllowed,
      numberElected: c.numberElected,
      threshold: thresholdOf(c),
    }
    if (isSmallCell(a.ballots, input.minCellBallots))
      return { ...head, ballots: null, undervotes: null, overvotes: null, votes: null, suppressed: true, outcome: null }
    const regions = regionsOf.get(c.id) ?? []
    const outstanding = contestOutstanding(regions, new Map(regions.map((r) => [r.id, r.ballots])), input.finished)
    return {
      ...head,
      ballots: a.ballots,
      undervotes: a.undervotes,
      overvotes: a.overvotes,
      votes: Object.fromEntries(resultLines(c).map((line) => [line.id, a.votes.get(line.id) ?? 0])),
      suppressed: false,
      outcome: contestOutcome(
        c,
        a.votes,
        outstanding,
        input.calls.filter((call) => call.contestId === c.id),
      ),
    }
  })
}

/**
 * Each contest's regions: those whose style carries it. Every ballot of a region carries
 * every contest of its style, so a region's ballots are the contest's ballots there.
 */
export function regionsOfContests<R extends Pick<RegionTurnout, 'styleId'>>(
  contests: ReadonlyArray<Pick<ContestRules, 'id'>>,
  layouts: StyleLayouts,
  regions: ReadonlyArray<R>,
): Map<string, R[]> {
  const regionsOf = new Map<string, R[]>(contests.map((c) => [c.id, []]))
  for (const r of regions) for (const contestId of layouts.get(r.styleId)?.keys() ?? []) regionsOf.get(contestId)?.push(r)
  return regionsOf
}

interface Totals {
  ballots: number
  undervotes: number
  overvotes: number
  votes: Map<string, number>
}
