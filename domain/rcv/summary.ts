import { z } from 'zod'
import { INACTIVE_CAUSES, type RcvResult } from './tabulate.ts'

/**
 * A tabulation in the shape of RCTab's summary JSON (the `*_summary.json` it writes, called
 * `detailed_report.json` since RCTab 2; OutputWriter.generateJsonReport in
 * github.com/BrightSpots/rcv), which RCV visualisers (rcvis.com) and jurisdictions already
 * read. The shape, as RCTab's own expected outputs (e.g. its 2018 Maine governor primary
 * test) have it:
 *
 * - numbers of ballots are strings ("35478"), as RCTab prints its BigDecimals; `round`,
 *   `numCandidates`, `numWinners` and `undervotes` are numbers;
 * - `tally` lists the candidates continuing in the round; `tallyResults` has one entry per
 *   candidate elected or eliminated at the end of the round, each with the ballots that left
 *   them for the next round (`transfers`, only targets that received some, "exhausted" for
 *   ballots that became inactive) — `{}` for the winner;
 * - `inactiveBallots` per round: the four causes, cumulative; undervotes are not among them
 *   and appear once, in `summary.undervotes`; `summary.totalNumBallots` counts them;
 * - the threshold is per round (`threshold`) and the last one again in
 *   `summary.finalThreshold` (RCTab's `config` has no threshold);
 * - keys in code-point order, as RCTab's JSON writer sorts them.
 *
 * Tie-breaks are not in RCTab's JSON (it logs them to its audit file); they are in the
 * RcvResult each round carries.
 */

export interface RctabContestInfo {
  contest: string
  /** The election's date, YYYY-MM-DD. */
  date: string
  jurisdiction: string
  office: string
  /** RCTab writes "RCTab <version>"; ours says what produced it, e.g. "VoteStream (unofficial)". */
  generatedBy: string
}

/** Numbers of ballots as RCTab prints them: strings, by candidate name. */
const countsSchema = z.record(z.string(), z.string())
type Counts = z.infer<typeof countsSchema>

export const rctabTallyResultSchema = z.union([
  z.object({ elected: z.string(), transfers: countsSchema }),
  z.object({ eliminated: z.string(), transfers: countsSchema }),
])
export type RctabTallyResult = z.infer<typeof rctabTallyResultSchema>

export const rctabRoundSchema = z.object({
  inactiveBallots: z.object({
    exhaustedChoices: z.string(),
    overvotes: z.string(),
    repeatedRankings: z.string(),
    skippedRankings: z.string(),
  }),
  round: z.number(),
  tally: countsSchema,
  tallyResults: z.array(rctabTallyResultSchema),
  threshold: z.string(),
})
export type RctabRound = z.infer<typeof rctabRoundSchema>

/** The contract of the summary (one definition: the API's response and the type come from it). */
export const rctabSummarySchema = z.object({
  config: z.object({ contest: z.string(), date: z.string(), generatedBy: z.string(), jurisdiction: z.string(), office: z.string() }),
  jsonFormatVersion: z.literal('1'),
  results: z.array(rctabRoundSchema),
  summary: z.object({
    finalThreshold: z.string(),
    numCandidates: z.number(),
    numWinners: z.number(),
    totalNumBallots: z.string(),
    undervotes: z.number(),
  }),
})
export type RctabSummary = z.infer<typeof rctabSummarySchema>

/** `name` maps a candidate id to the label RCTab would print (its candidate name); ids by default. */
export function toRctabSummary(result: RcvResult, contest: RctabContestInfo, name: (id: string) => string = (id) => id): RctabSummary {
  const label = (id: string) => (id === 'exhausted' ? id : name(id))
  const results = result.rounds.map((r): RctabRound => {
    const tallyResults: RctabTallyResult[] = []
    if (r.elected !== undefined) tallyResults.push({ elected: name(r.elected), transfers: {} })
    for (const loser of r.eliminated) {
      const moved = Object.entries(r.transfers[loser] ?? {}).filter(([, n]) => n > 0)
      tallyResults.push({ eliminated: name(loser), transfers: sortedCounts(moved.map(([to, n]) => [label(to), n])) })
    }
    const inactive = Object.fromEntries(INACTIVE_CAUSES.map((k) => [k, String(r.inactive[k])]))
    return {
      inactiveBallots: sortedCounts(Object.entries(inactive)) as RctabRound['inactiveBallots'],
      round: r.round,
      tally: sortedCounts(Object.entries(r.tally).map(([c, n]) => [name(c), n])),
      tallyResults,
      threshold: String(r.threshold),
    }
  })
  return {
    config: {
      contest: contest.contest,
      date: contest.date,
      generatedBy: contest.generatedBy,
      jurisdiction: contest.jurisdiction,
      office: contest.office,
    },
    jsonFormatVersion: '1',
    results,
    summary: {
      finalThreshold: String(result.rounds.at(-1)?.threshold ?? 0),
      numCandidates: result.candidates.length,
      numWinners: 1,
      totalNumBallots: String(result.ballots),
      undervotes: result.undervotes,
    },
  }
}

/** Counts as strings, keys in code-point order (not localeCompare: RCTab's order is the JSON writer's). */
function sortedCounts(entries: [string, number | string][]): Counts {
  return Object.fromEntries(
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]),
  )
}
