import { z } from 'zod'
import type { ContestRules } from '../contests.ts'
import type { Ranking } from './ballot.ts'
import { rcvRulesSchema } from './rules.ts'
import { rctabSummarySchema, toRctabSummary } from './summary.ts'
import { INACTIVE_CAUSES, type RankingPattern, type RcvResult, tabulatePatterns } from './tabulate.ts'

/**
 * A ranked contest's rounds from its rankings as the database keeps them (one row per
 * distinct ranking: the box's JSON text and the ballots carrying it), and the contract of
 * the rounds the API serves. Pure: the API, certification and the tests use the same rules.
 */

/** One stored ranking and its ballots (lib/db/ballot-box.ts RankingCount). */
export interface StoredRanking {
  ranking: string
  ballots: number
}

/** A stored ranking that is not one: the box or `rcv_rankings` holds what the counter never writes. */
export class StoredRankingError extends Error {
  override name = 'StoredRankingError'
}

/** Parses stored rankings into patterns; text that is not a ranking of ids is refused, never guessed at. */
export function patternsOf(rows: Iterable<StoredRanking>): RankingPattern[] {
  const out: RankingPattern[] = []
  for (const r of rows) {
    let parsed: unknown
    try {
      parsed = JSON.parse(r.ranking)
    } catch {
      throw new StoredRankingError(`stored ranking ${r.ranking.slice(0, 80)} is not JSON`)
    }
    if (!Array.isArray(parsed) || !parsed.every((rank) => Array.isArray(rank) && rank.every((id) => typeof id === 'string')))
      throw new StoredRankingError(`stored ranking ${r.ranking.slice(0, 80)} is not a list of ranks`)
    out.push({ ranking: parsed as Ranking, count: r.ballots })
  }
  return out
}

/** The rounds of a ranked contest as its rankings stand. */
export function contestRounds(contest: ContestRules, rows: Iterable<StoredRanking>): RcvResult {
  if (!contest.rcv) throw new Error(`contest ${contest.id} is not ranked`)
  return tabulatePatterns(
    contest.rcv,
    contest.selections.map((s) => s.id),
    patternsOf(rows),
  )
}

/** What stored rankings say the counts' first choices are: per ranking, its first marked rank (tabulation.ts's rule). */
export interface FirstChoices {
  ballots: number
  undervotes: number
  overvotes: number
  votes: Record<string, number>
}

export function firstChoicesOf(rows: Iterable<StoredRanking>): FirstChoices {
  const out: FirstChoices = { ballots: 0, undervotes: 0, overvotes: 0, votes: {} }
  for (const { ranking, count } of patternsOf(rows)) {
    out.ballots += count
    const first = ranking.find((marks) => marks.length > 0)
    if (!first) out.undervotes += count
    else if (first.length > 1) out.overvotes += count
    else out.votes[first[0] as string] = (out.votes[first[0] as string] ?? 0) + count
  }
  return out
}

/** How the rankings' first choices differ from the counted ones (a ranking stored wrong, or a count): none when equal. */
export function firstChoiceDifferences(fromRankings: FirstChoices, counted: FirstChoices): string[] {
  const out: string[] = []
  for (const k of ['ballots', 'undervotes', 'overvotes'] as const)
    if (fromRankings[k] !== counted[k]) out.push(`${k}: ${fromRankings[k]} in the rankings, ${counted[k]} counted`)
  for (const c of new Set([...Object.keys(fromRankings.votes), ...Object.keys(counted.votes)])) {
    const a = fromRankings.votes[c] ?? 0
    const b = counted.votes[c] ?? 0
    if (a !== b) out.push(`first choices of ${c}: ${a} in the rankings, ${b} counted`)
  }
  return out
}

/**
 * Whether two sets of stored rankings are the same multiset (certification: the running
 * rankings against those counted again from the box). Returns the first differences.
 */
export function rankingDifferences(a: Iterable<StoredRanking>, b: Iterable<StoredRanking>): string[] {
  const left = new Map<string, number>()
  for (const r of a) left.set(r.ranking, (left.get(r.ranking) ?? 0) + r.ballots)
  const right = new Map<string, number>()
  for (const r of b) right.set(r.ranking, (right.get(r.ranking) ?? 0) + r.ballots)
  // Counted, never listed: a ranking's text beside its count would show what a few voters ranked.
  let rankings = 0
  let ballots = 0
  for (const k of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(k) ?? 0
    const y = right.get(k) ?? 0
    if (x !== y) {
      rankings++
      ballots += Math.abs(x - y)
    }
  }
  return rankings === 0
    ? []
    : [`${rankings} distinct rankings differ between the public rankings and the box, by ${ballots} ballots in all`]
}

const counts = z.record(z.string(), z.number())

export const rcvRoundSchema = z.object({
  round: z.number(),
  tally: counts,
  continuingVotes: z.number(),
  threshold: z.number(),
  inactive: z.object(
    Object.fromEntries(INACTIVE_CAUSES.map((k) => [k, z.number()])) as Record<(typeof INACTIVE_CAUSES)[number], z.ZodNumber>,
  ),
  elected: z.string().optional(),
  eliminated: z.array(z.string()),
  batchElimination: z.boolean(),
  transfers: z.record(z.string(), counts),
  tiebreak: z
    .object({
      purpose: z.enum(['elimination', 'election']),
      tied: z.array(z.string()),
      votes: z.number(),
      selected: z.string(),
      method: z.enum(['previousRoundCounts', 'seededDraw']),
      decidingRound: z.number().optional(),
      draw: z.array(z.object({ candidate: z.string(), sha256: z.string() })).optional(),
    })
    .optional(),
})

/** `GET /elections/{id}/contests/{contestId}/rounds`: the rounds as they stand, and RCTab's summary of them. */
export const contestRoundsSchema = z.object({
  electionId: z.string(),
  contestId: z.string(),
  name: z.string(),
  /** Null: the whole contest; a region: the rounds as if only that region's ballots were cast. */
  regionId: z.string().nullable(),
  /**
   * `unofficial` while ballots may still come or until certification: the rounds as they
   * stand over the ballots counted so far, and the candidate elected in them is not a
   * winner yet. `certified`: the certified count's rounds.
   */
  status: z.enum(['unofficial', 'certified']),
  rules: rcvRulesSchema,
  candidates: z.array(z.object({ id: z.string(), name: z.string(), party: z.string().nullable() })),
  ballots: z.number(),
  undervotes: z.number(),
  rounds: z.array(rcvRoundSchema),
  /** Elected in the last round of these rounds; null before any ballot counts for a candidate, or while suppressed. */
  elected: z.string().nullable(),
  /** Fewer ballots ranking anyone than the minimum cell: the rounds would show what those few voters ranked, so none are shown. */
  suppressed: z.boolean(),
  minCellBallots: z.number(),
  /** RCTab's summary of the same rounds; null while suppressed. */
  rctab: rctabSummarySchema.nullable(),
})
export type ContestRoundsResponse = z.infer<typeof contestRoundsSchema>

export function contestRoundsResponse(input: {
  electionId: string
  regionId?: string | null
  contest: ContestRules
  rows: StoredRanking[]
  certified: boolean
  /** The election's day, YYYY-MM-DD (RCTab's config.date). */
  date: string
  jurisdiction: string
  minCellBallots: number
}): ContestRoundsResponse {
  const { contest } = input
  const rules = contest.rcv
  if (!rules) throw new Error(`contest ${contest.id} is not ranked`)
  const result = contestRounds(contest, input.rows)
  // Blank ballots hide nobody: the cell is the ballots that rank someone.
  const suppressed = result.ballots - result.undervotes < input.minCellBallots
  const counting = !suppressed && (result.rounds.at(-1)?.continuingVotes ?? 0) > 0
  const names = new Map(contest.selections.map((s) => [s.id, s.name]))
  return {
    electionId: input.electionId,
    contestId: contest.id,
    name: contest.name,
    regionId: input.regionId ?? null,
    status: input.certified ? 'certified' : 'unofficial',
    rules,
    candidates: contest.selections.map((s) => ({ id: s.id, name: s.name, party: s.party })),
    ballots: suppressed ? 0 : result.ballots,
    undervotes: suppressed ? 0 : result.undervotes,
    rounds: counting ? result.rounds : [],
    elected: counting ? result.winner : null,
    suppressed,
    minCellBallots: input.minCellBallots,
    rctab: counting
      ? toRctabSummary(
          result,
          {
            contest: contest.name,
            date: input.date,
            jurisdiction: input.jurisdiction,
            office: contest.name,
            generatedBy: `VoteStream (${input.certified ? 'certified' : 'unofficial'})`,
          },
          (id) => names.get(id) ?? id,
        )
      : null,
  }
}

/** The rounds as rows (round × continuing candidate, with what became of them), as stored for Grafana. */
export function roundTallies(
  result: RcvResult,
): Array<{ round: number; candidateId: string; votes: number; status: 'continuing' | 'eliminated' | 'elected' }> {
  return result.rounds.flatMap((r) =>
    Object.entries(r.tally).map(([candidateId, votes]) => ({
      round: r.round,
      candidateId,
      votes,
      status:
        r.elected === candidateId
          ? ('elected' as const)
          : r.eliminated.includes(candidateId)
            ? ('eliminated' as const)
            : ('continuing' as const),
    })),
  )
}
