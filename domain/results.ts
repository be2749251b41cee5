import { z } from 'zod'
import { REJECTION_REASONS } from './ballot.ts'
import { snapshotContestSchema } from './contest-totals.ts'
import { ELECTION_STATUSES, type ElectionStatus, REPORTING_STATUSES } from './election.ts'

/**
 * A race call: a candidate called the winner of the election or of one region, because no
 * ballot still to come can overturn the lead. Recorded with its rule and figures; if later
 * counts ever contradict it, it is retracted visibly, never left standing.
 */
export const raceCallSchema = z.object({
  /** null: the whole election; otherwise the region called. */
  regionId: z.string().nullable(),
  candidateId: z.string(),
  calledAt: z.string(),
  rule: z.string(),
  figures: z.object({ lead: z.number(), outstanding: z.number(), leaderVotes: z.number(), runnerUpVotes: z.number() }),
  status: z.enum(['standing', 'retracted']),
  retraction: z.object({ at: z.string(), reason: z.string() }).nullable(),
})
export type RaceCall = z.infer<typeof raceCallSchema>

/** What every results surface shows: the results topic, the API, the SSE stream, the page. */
export const resultsSnapshotSchema = z.object({
  electionId: z.string(),
  name: z.string(),
  /** A test election (every simulation is one): every page that shows it says TEST. */
  test: z.boolean(),
  simulated: z.boolean(),
  status: z.enum(ELECTION_STATUSES),
  reportingStatus: z.enum(REPORTING_STATUSES),
  /** Increases with every change; versions become visible in order, so a consumer drops older ones. */
  version: z.number(),
  asOf: z.string(),
  candidates: z.array(z.object({ id: z.string(), name: z.string(), party: z.string().nullable(), votes: z.number(), share: z.number() })),
  regions: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: z.string(),
      registeredVoters: z.number(),
      ballots: z.number(),
      turnoutPercent: z.number(),
      lat: z.number().nullable(),
      lon: z.number().nullable(),
      /** The candidate ahead here (null while no vote is counted or on a tie) and by how many votes. */
      leader: z.string().nullable(),
      margin: z.number(),
      /** Ballots expected here: the generator's plan for a simulation, else the registered voters. */
      expected: z.number(),
      /** ballots / expected, 0..1 */
      shareCounted: z.number(),
      /** The region's race call, standing or retracted. */
      call: raceCallSchema.nullable(),
    }),
  ),
  /**
   * Every region is listed when there are at most REGIONS_INLINE of them; past that the
   * snapshot keeps its size (it is pushed every second) and the regions are paged at
   * /elections/{id}/regions.
   */
  regionsListed: z.boolean(),
  regionCount: z.number(),
  /** Regions whose race is called (standing calls), listed or not. */
  regionsCalled: z.number(),
  /** The regions rolled up by state. */
  states: z.array(
    z.object({
      state: z.string(),
      regions: z.number(),
      registeredVoters: z.number(),
      ballots: z.number(),
      expected: z.number(),
      shareCounted: z.number(),
      leader: z.string().nullable(),
      margin: z.number(),
      candidates: z.array(z.object({ id: z.string(), votes: z.number() })),
    }),
  ),
  /** Counted ballots per channel (election day, early, mail). */
  channels: z.array(z.object({ channel: z.string(), ballots: z.number() })),
  totals: z.object({
    counted: z.number(),
    rejected: z.number(),
    registeredVoters: z.number(),
    /** Ballots expected in all: produced ones once polls close, else the plan or the roll. */
    expected: z.number(),
    /** counted / expected, 0..1 */
    shareCounted: z.number(),
  }),
  rejections: z.partialRecord(z.enum(REJECTION_REASONS), z.number()),
  /** The election's race call, standing or retracted. */
  call: raceCallSchema.nullable(),
  /**
   * An election defined by contests: each contest in ballot order with its totals over the
   * whole election and its outcome (a contest with fewer ballots than the minimum cell is
   * suppressed). Results by region and channel: GET /elections/{id}/contests/{contestId}.
   * Null for a one-contest election (its results are `candidates`).
   */
  contests: z.array(snapshotContestSchema).nullable(),
  /** Present when a client asked what changed since a version it has. */
  changedSince: z.object({ since: z.number(), candidates: z.array(z.string()), regions: z.array(z.string()) }).optional(),
})
export type ResultsSnapshot = z.infer<typeof resultsSnapshotSchema>

/** Regions listed in a snapshot at most; beyond, they are paged (see regionsListed). */
export const REGIONS_INLINE = 500

/** The candidate ahead and the margin over the runner-up; no leader on a tie or with nothing counted. */
export function leaderOf(votes: Array<{ id: string; votes: number }>): { leader: string | null; margin: number } {
  const sorted = [...votes].sort((a, b) => b.votes - a.votes)
  const [first, second] = sorted
  if (!first || first.votes === 0) return { leader: null, margin: 0 }
  const margin = first.votes - (second?.votes ?? 0)
  return { leader: margin > 0 ? first.id : null, margin }
}

export type CallDecision = Pick<RaceCall, 'candidateId' | 'rule' | 'figures'>

/**
 * What can still come, from facts the system holds, or null when nothing bounds it (then
 * no race is called).
 * - closed or certified: nothing; every message that reached the log before the close is accounted for.
 * - closing: the messages in the log below the close marks not yet accounted for, of any
 *   election (a bound, not a guess), plus ballots accepted but not yet on the topic.
 * - open and simulated: the generator's planned ballots not yet counted.
 * - open and live: unbounded, since voters can still register until the polls close.
 */
export function outstandingBallots(facts: {
  status: ElectionStatus
  simulated: boolean
  planned: number | null
  counted: number
  backlog: number | null
}): { outstanding: number; rule: string } | null {
  switch (facts.status) {
    case 'closed':
    case 'certified':
      return { outstanding: 0, rule: 'polls closed and every ballot counted' }
    case 'closing':
      if (facts.backlog === null) return null
      return { outstanding: facts.backlog, rule: 'lead exceeds the ballots in the log not yet counted' }
    case 'open':
      if (!facts.simulated || facts.planned === null) return null
      return { outstanding: Math.max(0, facts.planned - facts.counted), rule: "lead exceeds the generator's ballots still to come" }
    case 'draft':
      return null
  }
}

/**
 * Votes per scope (null: the whole election) and candidate, in one pass over the counts:
 * with 5,000 regions, filtering the counts again for every scope took seconds of the
 * worker's only thread, and its workflow tasks timed out meanwhile.
 */
export function votesByScope(
  counts: Array<{ regionId: string; candidateId: string; votes: number }>,
  candidates: string[],
): (scope: string | null) => Array<{ id: string; votes: number }> {
  const byScope = new Map<string | null, Map<string, number>>()
  for (const x of counts) {
    for (const scope of [null, x.regionId]) {
      const row = byScope.get(scope) ?? new Map<string, number>()
      row.set(x.candidateId, (row.get(x.candidateId) ?? 0) + x.votes)
      byScope.set(scope, row)
    }
  }
  return (scope) => candidates.map((id) => ({ id, votes: byScope.get(scope)?.get(id) ?? 0 }))
}

/** Calls the leader when the lead over the runner-up exceeds every ballot still to come. */
export function decideCall(
  votes: Array<{ id: string; votes: number }>,
  bound: { outstanding: number; rule: string } | null,
): CallDecision | null {
  if (!bound) return null
  const sorted = [...votes].sort((a, b) => b.votes - a.votes)
  const [leader, runnerUp] = sorted
  if (!leader || leader.votes === 0) return null
  const lead = leader.votes - (runnerUp?.votes ?? 0)
  if (lead <= bound.outstanding) return null
  return {
    candidateId: leader.id,
    rule: bound.rule,
    figures: { lead, outstanding: bound.outstanding, leaderVotes: leader.votes, runnerUpVotes: runnerUp?.votes ?? 0 },
  }
}

/**
 * Why counts contradict a standing call, or null when they do not: another candidate has
 * caught up with the one called (the rule promised that could not happen).
 */
export function contradiction(call: Pick<RaceCall, 'candidateId'>, votes: Array<{ id: string; votes: number }>): string | null {
  const called = votes.find((v) => v.id === call.candidateId)?.votes ?? 0
  const rival = votes.filter((v) => v.id !== call.candidateId).sort((a, b) => b.votes - a.votes)[0]
  if (rival && rival.votes >= called) return `${rival.id} has ${rival.votes} votes against ${called} for ${call.candidateId}`
  return null
}

/**
 * Why the final count does not bear a standing call out, or null when it does: the call
 * must name the leader (a tie for the lead contradicts it too).
 */
export function finalCountDisagreement(call: Pick<RaceCall, 'candidateId'>, votes: Array<{ id: string; votes: number }>): string | null {
  const contradicted = contradiction(call, votes)
  if (contradicted) return contradicted
  const top = Math.max(0, ...votes.map((v) => v.votes))
  const called = votes.find((v) => v.id === call.candidateId)?.votes ?? 0
  return called < top ? `the certified count does not make ${call.candidateId} the leader` : null
}

/** Votes per candidate per minute of casting, and the reconciliation snapshots over time. */
export const trendSchema = z.object({
  electionId: z.string(),
  minutes: z.array(z.object({ minute: z.string(), candidateId: z.string(), votes: z.number() })),
  snapshots: z.array(z.object({ takenAt: z.string(), candidateId: z.string(), votes: z.number() })),
})
export type Trend = z.infer<typeof trendSchema>

/** One candidate × region × channel cell where the count differs from what was generated. */
export const cellMismatchSchema = z.object({
  candidateId: z.string(),
  regionId: z.string(),
  /** '*': truth stored before it was kept per channel, compared per candidate and region. */
  channel: z.string(),
  generated: z.number(),
  counted: z.number(),
})
export type CellMismatch = z.infer<typeof cellMismatchSchema>

/**
 * A simulated election's ground truth next to its count: per candidate, per rejection
 * reason, and cell by cell (candidate × region × channel). `matches` only once certified.
 */
export const simulationComparisonSchema = z.object({
  electionId: z.string(),
  matches: z.boolean(),
  candidates: z.array(z.object({ candidateId: z.string(), generated: z.number(), counted: z.number() })),
  rejections: z.array(z.object({ reason: z.string(), injected: z.number(), rejected: z.number() })),
  cells: z.object({ compared: z.number(), mismatched: z.number(), examples: z.array(cellMismatchSchema) }),
  /** An election with contests: contest × line (selection, undervotes, overvotes, ballots) × region × channel cells. */
  contests: z.object({ compared: z.number(), mismatched: z.number() }).nullable(),
})
export type SimulationComparison = z.infer<typeof simulationComparisonSchema>
