import { z } from 'zod'
import { decidedByCalls, type PublicContestCall, publicContestCallSchema } from './contest-calls.ts'
import { type ContestRules, isSimpleMajority, measurePasses, WRITE_IN_SELECTION } from './contests.ts'
import { rcvRulesSchema } from './rcv/rules.ts'
import { cellBalances } from './tabulation.ts'

/**
 * One contest's results from its counts: the rules that turn counts into what the public
 * sees — totals, the leaders or the measure's pass/fail against its threshold, whether the
 * outcome is decided, and the breakdown by region and channel with small cells suppressed.
 * Pure: the API, the terminal and the tests apply the same rules to the same numbers.
 */

/** Cells with fewer ballots than this are not shown (VotingWorks' default is 10). */
export const DEFAULT_MIN_CELL_BALLOTS = 10

/**
 * An election's smallest public cell: fixed when it is created and stored with it
 * (`elections.min_cell_ballots`, whose check is this range), read by every public output
 * and by the tallies' release, so that no two of them hide at different sizes.
 */
export const minCellBallotsSchema = z.number().int().min(1).max(10_000)

export interface VoteCell {
  regionId: string
  channel: string
  selectionId: string
  votes: number
}
export interface BallotCell {
  regionId: string
  channel: string
  ballots: number
  undervotes: number
  overvotes: number
}
export interface RegionInfo {
  id: string
  name: string
  state: string
  registeredVoters: number
}

/** The counts of one scope (a region, a channel, a whole contest), or nulls when it is a small cell. */
export const breakdownSchema = z.object({
  ballots: z.number().nullable(),
  undervotes: z.number().nullable(),
  overvotes: z.number().nullable(),
  /** Selection id → votes; null when the cell is suppressed. */
  votes: z.record(z.string(), z.number()).nullable(),
  suppressed: z.boolean(),
})

/** A measure's threshold as the law states it: a simple majority must be exceeded, any other reached. */
export const contestThresholdSchema = z.object({
  numerator: z.number(),
  denominator: z.number(),
  rule: z.enum(['more-than', 'at-least']),
})

/** One contest as `GET /elections/{id}/contests` lists it: ballot order, its district, the ballots that carried it so far (0 while a small cell). */
export const contestSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['candidate', 'measure']),
  district: z.string(),
  votesAllowed: z.number(),
  /** Ranked choice: its votes are first choices, its rounds at …/contests/{id}/rounds. */
  ranked: z.boolean(),
  regions: z.number(),
  ballots: z.number(),
})
export const contestListSchema = z.object({ electionId: z.string(), contests: z.array(contestSummarySchema) })
export type ContestList = z.infer<typeof contestListSchema>

export const contestOutcomeSchema = z.object({
  /** Candidate contests: the ids ahead for the seats (numberElected of them); measures: empty. */
  leaders: z.array(z.string()),
  /** Measures: whether yes meets the threshold on the votes counted so far. */
  passes: z.boolean().nullable(),
  /**
   * True once the election workflow has called every seat (a measure: its pass or fail),
   * because no arrangement of the ballots still to come can change it (domain/contest-calls.ts).
   * Never decided here on read: the calls are recorded facts with one writer.
   */
  decided: z.boolean(),
  /** The contest's recorded calls, standing or retracted (a retraction stays visible). */
  calls: z.array(publicContestCallSchema),
  /** Ballots that may still come: every registered voter of the contest's regions who has not voted yet (0 once counting has finished). */
  outstanding: z.number(),
})
export type ContestOutcomeSummary = z.infer<typeof contestOutcomeSchema>

export const contestResultsSchema = z.object({
  electionId: z.string(),
  contestId: z.string(),
  name: z.string(),
  type: z.enum(['candidate', 'measure']),
  district: z.string(),
  votesAllowed: z.number(),
  numberElected: z.number(),
  threshold: contestThresholdSchema.nullable(),
  /** A ranked contest's rules (its `selections` votes are first choices; its rounds at …/rounds), else null. */
  rcv: rcvRulesSchema.nullable(),
  totals: z.object({ ballots: z.number(), votes: z.number(), undervotes: z.number(), overvotes: z.number() }),
  selections: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      party: z.string().nullable(),
      writeIn: z.boolean(),
      votes: z.number(),
      share: z.number(),
    }),
  ),
  outcome: contestOutcomeSchema,
  /** Σ selections + undervotes + overvotes × votesAllowed = ballots × votesAllowed, in every region × channel cell. */
  balanced: z.boolean(),
  minCellBallots: z.number(),
  channels: z.array(breakdownSchema.extend({ channel: z.string() })),
  regions: z.array(breakdownSchema.extend({ id: z.string(), name: z.string(), state: z.string() })),
})
export type ContestResults = z.infer<typeof contestResultsSchema>

export function contestResults(input: {
  electionId: string
  rules: ContestRules
  votes: VoteCell[]
  ballots: BallotCell[]
  /** The contest's regions (its district). */
  regions: RegionInfo[]
  /** Counting has finished: nothing is outstanding. */
  finished: boolean
  /** The contest's recorded calls (lib/db/contest-calls.ts). */
  calls: PublicContestCall[]
  minCellBallots?: number
}): ContestResults {
  const { rules } = input
  const min = input.minCellBallots ?? DEFAULT_MIN_CELL_BALLOTS
  const lines = resultLines(rules)
  const total = new Map<string, number>(lines.map((s) => [s.id, 0]))
  const byRegion = new Map<string, Acc>()
  const byChannel = new Map<string, Acc>()
  const byCell = new Map<string, Acc>()
  const acc = (m: Map<string, Acc>, k: string) => {
    let a = m.get(k)
    if (!a) {
      a = { ballots: 0, undervotes: 0, overvotes: 0, votes: new Map() }
      m.set(k, a)
    }
    return a
  }
  for (const v of input.votes) {
    total.set(v.selectionId, (total.get(v.selectionId) ?? 0) + v.votes)
    for (const a of [acc(byRegion, v.regionId), acc(byChannel, v.channel), acc(byCell, `${v.regionId}|${v.channel}`)])
      a.votes.set(v.selectionId, (a.votes.get(v.selectionId) ?? 0) + v.votes)
  }
  for (const b of input.ballots)
    for (const a of [acc(byRegion, b.regionId), acc(byChannel, b.channel), acc(byCell, `${b.regionId}|${b.channel}`)]) {
      a.ballots += b.ballots
      a.undervotes += b.undervotes
      a.overvotes += b.overvotes
    }
  const sum = (xs: Iterable<number>) => [...xs].reduce((s, x) => s + x, 0)
  const votes = sum(total.values())
  const all = [...byRegion.values()]
  const totals = {
    ballots: sum(all.map((a) => a.ballots)),
    votes,
    undervotes: sum(all.map((a) => a.undervotes)),
    overvotes: sum(all.map((a) => a.overvotes)),
  }
  const balanced = [...byCell.values()].every((a) =>
    cellBalances({
      votesAllowed: rules.votesAllowed,
      ballots: a.ballots,
      undervotes: a.undervotes,
      overvotes: a.overvotes,
      selectionVotes: sum(a.votes.values()),
    }),
  )

  const counted = new Map([...byRegion].map(([id, a]) => [id, a.ballots]))
  const outstanding = contestOutstanding(input.regions, counted, input.finished)
  const selections = lines.map((s) => ({ ...s, votes: total.get(s.id) ?? 0, share: votes > 0 ? (total.get(s.id) ?? 0) / votes : 0 }))
  const outcome = contestOutcome(rules, total, outstanding, input.calls)

  const regionInfo = new Map(input.regions.map((r) => [r.id, r]))
  const regionIds = input.regions.map((r) => r.id)
  const hiddenRegions = hiddenRegionsOf(regionIds, input.ballots, min)
  const channelIds = [...byChannel.keys()].sort()
  const hiddenChannels = suppressed(
    channelIds.map((c) => [c, byChannel.get(c)?.ballots ?? 0]),
    min,
  )
  const show = (a: Acc | undefined, hidden: boolean) =>
    hidden
      ? { ballots: null, undervotes: null, overvotes: null, votes: null, suppressed: true }
      : {
          ballots: a?.ballots ?? 0,
          undervotes: a?.undervotes ?? 0,
          overvotes: a?.overvotes ?? 0,
          votes: Object.fromEntries(lines.map((s) => [s.id, a?.votes.get(s.id) ?? 0])),
          suppressed: false,
        }
  return {
    electionId: input.electionId,
    contestId: rules.id,
    name: rules.name,
    type: rules.type,
    district: rules.district,
    votesAllowed: rules.votesAllowed,
    numberElected: rules.numberElected,
    threshold: thresholdOf(rules),
    rcv: rules.rcv ?? null,
    // The contest's own totals are public only once they cover enough ballots.
    totals: isSmallCell(totals.ballots, min) ? { ballots: totals.ballots, votes: 0, undervotes: 0, overvotes: 0 } : totals,
    selections: isSmallCell(totals.ballots, min) ? selections.map((s) => ({ ...s, votes: 0, share: 0 })) : selections,
    // Who leads a contest of a handful of ballots is what those voters chose: withheld too.
    outcome: isSmallCell(totals.ballots, min) ? withheldOutcome(outcome) : outcome,
    balanced,
    minCellBallots: min,
    channels: channelIds.map((c) => ({ channel: c, ...show(byChannel.get(c), hiddenChannels.has(c)) })),
    regions: regionIds.map((id) => {
      const r = regionInfo.get(id) as RegionInfo
      return { id, name: r.name, state: r.state, ...show(byRegion.get(id), hiddenRegions.has(id)) }
    }),
  }
}

interface Acc {
  ballots: number
  undervotes: number
  overvotes: number
  votes: Map<string, number>
}

/** The lines a contest's votes are counted on: its declared selections, then the write-in line where it has one. */
export function resultLines(rules: ContestRules): Array<{ id: string; name: string; party: string | null; writeIn: boolean }> {
  return [...rules.selections, ...(rules.writeIns ? [{ id: WRITE_IN_SELECTION, name: 'Write-in', party: null, writeIn: true }] : [])]
}

export function thresholdOf(rules: ContestRules): z.infer<typeof contestThresholdSchema> | null {
  return rules.threshold ? { ...rules.threshold, rule: isSimpleMajority(rules.threshold) ? 'more-than' : 'at-least' } : null
}

/** A cell too small to show: some ballots, fewer than the minimum (an empty cell reveals nothing). */
export const isSmallCell = (ballots: number, min: number) => ballots > 0 && ballots < min

/**
 * The ballots that may still come in a contest: every registered voter of its regions who
 * has not voted yet (`counted`: the contest's ballots per region), or none once counting
 * has finished.
 */
export function contestOutstanding(
  regions: Array<Pick<RegionInfo, 'id' | 'registeredVoters'>>,
  counted: ReadonlyMap<string, number>,
  finished: boolean,
): number {
  if (finished) return 0
  let outstanding = 0
  for (const r of regions) outstanding += Math.max(0, r.registeredVoters - (counted.get(r.id) ?? 0))
  return outstanding
}

/**
 * The outcome from a contest's votes per line (`total`: selection id or the write-in line →
 * votes): the leaders for the seats, or a measure's pass/fail against its threshold so far,
 * and whether its recorded calls decide it.
 */
export function contestOutcome(
  rules: ContestRules,
  total: ReadonlyMap<string, number>,
  outstanding: number,
  calls: PublicContestCall[],
): ContestOutcomeSummary {
  const decided = decidedByCalls(rules, calls)
  if (rules.type === 'measure') {
    const threshold = rules.threshold ?? { numerator: 1, denominator: 2 }
    const yes = total.get('yes') ?? 0
    const no = total.get('no') ?? 0
    return { leaders: [], passes: yes + no > 0 ? measurePasses(threshold, yes, no) : null, decided, calls, outstanding }
  }
  // First choices do not say who leads a ranked contest: its rounds do (GET …/rounds).
  if (rules.rcv) return { leaders: [], passes: null, decided, calls, outstanding }
  const ranked = resultLines(rules)
    .map((s) => ({ id: s.id, votes: total.get(s.id) ?? 0 }))
    .sort((a, b) => b.votes - a.votes || (a.id < b.id ? -1 : 1))
  const leaders = ranked.slice(0, rules.numberElected).filter((s) => s.votes > 0)
  return { leaders: leaders.map((s) => s.id), passes: null, decided, calls, outstanding }
}

/** A contest of a handful of ballots: who leads, what passes and what was called is what those voters chose. */
export const withheldOutcome = (o: ContestOutcomeSummary): ContestOutcomeSummary => ({
  ...o,
  leaders: [],
  passes: null,
  decided: false,
  calls: [],
})

/**
 * The cells to hide: those with 1..min-1 ballots, and then — so that the total minus the
 * cells shown does not give a hidden one back — the smallest others, until what is hidden
 * adds up to at least `min` ballots (or nothing is left to hide).
 */
export function suppressed(cells: Array<[string, number]>, min: number): Set<string> {
  const hidden = new Set(cells.filter(([, n]) => isSmallCell(n, min)).map(([id]) => id))
  let hiddenBallots = cells.filter(([id]) => hidden.has(id)).reduce((s, [, n]) => s + n, 0)
  if (hiddenBallots > 0 && hiddenBallots < min) {
    const rest = cells.filter(([id, n]) => !hidden.has(id) && n > 0).sort(([, a], [, b]) => a - b)
    for (const [id, n] of rest) {
      if (hiddenBallots >= min) break
      hidden.add(id)
      hiddenBallots += n
    }
  }
  return hidden
}

/**
 * The regions a contest's page hides (`regionIds` in the page's order). The page shows each
 * region's totals and each channel's, never a region × channel cell; but the two margins
 * make a table whose cells a reader works out wherever zeros pin the rest: if B has no
 * election-day and no mail votes in the whole contest, a region's B votes are its early
 * ones, and a region with one early ballot among hundreds gives that voter's choice away.
 * So:
 *
 * - a region holding any cell of 1..min-1 ballots is hidden (a small region always does);
 * - then the smallest other regions (ties to the first listed), as few as make the hidden
 *   ones two or more, adding up to at least `min` ballots, and — since a channel's total
 *   minus its shown regions' cells gives the hidden regions' cells in it together — with
 *   each channel's hidden cells adding up to 0 or at least `min` ballots (all of them if
 *   no fewer will do).
 *
 * Every region shown then has only empty cells or cells of `min` ballots or more to work
 * out. Grafana's `contest_results` view (db/migrations/0048, at the election's minimum) applies the same rule.
 */
export function hiddenRegionsOf(regionIds: readonly string[], ballots: readonly BallotCell[], min: number): Set<string> {
  const channels = [...new Set(ballots.map((b) => b.channel))]
  const cells = new Map(regionIds.map((id) => [id, new Array<number>(channels.length).fill(0)]))
  for (const b of ballots) {
    const row = cells.get(b.regionId)
    const k = channels.indexOf(b.channel)
    if (row) row[k] = (row[k] as number) + b.ballots
  }
  const cellsOf = (id: string) => cells.get(id) as number[]
  const total = (id: string) => cellsOf(id).reduce((s, n) => s + n, 0)
  const hidden = new Set<string>()
  const sums = new Array<number>(channels.length).fill(0)
  let sum = 0
  const add = (id: string) => {
    hidden.add(id)
    sum += total(id)
    cellsOf(id).forEach((n, k) => {
      sums[k] = (sums[k] as number) + n
    })
  }
  for (const id of regionIds) if (cellsOf(id).some((n) => isSmallCell(n, min))) add(id)
  if (hidden.size === 0) return hidden
  const enough = () => hidden.size >= 2 && sum >= min && sums.every((n) => n === 0 || n >= min)
  const rest = regionIds.filter((id) => !hidden.has(id) && total(id) > 0).sort((a, b) => total(a) - total(b))
  for (const id of rest) {
    if (enough()) break
    add(id)
  }
  return hidden
}
