import type { RejectionReason } from '../../domain/ballot.ts'
import { reportingStatus } from '../../domain/election.ts'
import type { ResultsSnapshot } from '../../domain/results.ts'
import { getElection } from './elections.ts'
import { latestCalls } from './race-calls.ts'
import type { Db, Sql } from './sql.ts'

/**
 * Reads an election's results from the running counts (summed over partitions). Every
 * statement runs in one read-only, repeatable-read transaction: one database snapshot,
 * so the version, totals, candidates, regions and calls agree with each other. Reads
 * never write: race calls are decided elsewhere (activities/race-calls.ts).
 */
export async function loadResults(sql: Sql, electionId: string, options: { since?: number } = {}): Promise<ResultsSnapshot> {
  return sql.begin('isolation level repeatable read read only', (tx) => readResults(tx, electionId, options))
}

async function readResults(db: Db, electionId: string, options: { since?: number }): Promise<ResultsSnapshot> {
  const election = await getElection(db, electionId)
  const candidates = await db<{ id: string; name: string; party: string | null; votes: number }[]>`
    select c.id, c.name, c.party, coalesce(t.votes, 0)::float8 as votes
    from candidates c left join tallies t on t.election_id = c.election_id and t.candidate_id = c.id
    where c.election_id = ${electionId} order by c.position`
  const regions = await db<
    {
      id: string
      name: string
      state: string
      registeredVoters: number
      ballots: number
      percent: number
      lat: number | null
      lon: number | null
    }[]
  >`
    select region_id as id, name, state, registered_voters, ballots::float8, percent::float8, lat, lon
    from turnout where election_id = ${electionId} order by state, name`
  const rejections = await db<{ reason: RejectionReason; n: number }[]>`
    select reason, count(*)::float8 as n from rejected_ballots where election_id = ${electionId} group by reason`
  const [extra] = await db<{ version: number; duplicates: number }[]>`
    select greatest(${election.version}::bigint,
                    (select max(version) from tally_counts where election_id = ${electionId}),
                    (select max(version) from rejected_ballots where election_id = ${electionId}),
                    (select max(greatest(version, retracted_version)) from race_calls where election_id = ${electionId}))::float8 as version,
           (select count(*) from duplicate_ballots where election_id = ${electionId})::float8 as duplicates`
  const calls = await latestCalls(db, electionId)
  const counted = candidates.reduce((s, c) => s + c.votes, 0)
  const rejected = rejections.reduce((s, r) => s + r.n, 0)
  const registeredVoters = regions.reduce((s, r) => s + r.registeredVoters, 0)
  const produced = election.producedBallots === null ? null : Number(election.producedBallots)
  // The ballots to expect: once polls close, what was produced; for a simulation, the
  // planned turnout; otherwise every registered voter.
  const planned = (election.settings as { simulation?: { voters: number; turnout: number } }).simulation
  const expected =
    produced !== null
      ? Math.max(0, produced - rejected - (extra?.duplicates ?? 0))
      : election.simulated && planned
        ? Math.floor(planned.voters * planned.turnout)
        : registeredVoters
  const callOf = (regionId: string | null) => {
    const { id: _, ...call } = calls.find((c) => c.regionId === regionId) ?? { id: null }
    return 'candidateId' in call ? call : null
  }

  return {
    electionId,
    name: election.name,
    status: election.status,
    reportingStatus: reportingStatus(election.status),
    version: extra?.version ?? 0,
    asOf: new Date().toISOString(),
    candidates: candidates.map((c) => ({ ...c, share: counted > 0 ? c.votes / counted : 0 })),
    regions: regions.map(({ percent, ...r }) => ({ ...r, turnoutPercent: percent, call: callOf(r.id) })),
    totals: { counted, rejected, registeredVoters, expected, shareCounted: expected > 0 ? Math.min(1, counted / expected) : 0 },
    rejections: Object.fromEntries(rejections.map((r) => [r.reason, r.n])),
    call: callOf(null),
    ...(options.since !== undefined ? { changedSince: await changedSince(db, electionId, options.since) } : {}),
  }
}

/** Which candidates and regions have new counts since a version a client already has. */
async function changedSince(db: Db, electionId: string, since: number) {
  const rows = await db<{ candidateId: string; regionId: string }[]>`
    select distinct candidate_id, region_id from tally_counts where election_id = ${electionId} and version > ${since}`
  return {
    since,
    candidates: [...new Set(rows.map((r) => r.candidateId))].sort(),
    regions: [...new Set(rows.map((r) => r.regionId))].sort(),
  }
}

/** An entity tag for conditional requests: versions become visible in order, so the version is enough. */
export function resultsEtag(s: ResultsSnapshot): string {
  return `"${s.version}"`
}

/** Ballots counted (from the raw ballots) and rejected so far for an election. */
export async function recordedCounts(db: Db, electionId: string): Promise<{ counted: number; rejected: number }> {
  const [row] = await db<{ counted: number; rejected: number }[]>`
    select (select count(*) from ballots where election_id = ${electionId})::int as counted,
           (select count(*) from rejected_ballots where election_id = ${electionId})::int as rejected`
  return { counted: row?.counted ?? 0, rejected: row?.rejected ?? 0 }
}

/**
 * The current results version of an election, cheaply (null if there is no such
 * election): versions become visible in order, so an unchanged version is unchanged results.
 */
export async function resultsVersion(db: Db, electionId: string): Promise<string | null> {
  const [row] = await db<{ version: string }[]>`
    select greatest(e.version,
                    (select max(version) from tally_counts where election_id = e.id),
                    (select max(version) from rejected_ballots where election_id = e.id),
                    (select max(greatest(version, retracted_version)) from race_calls where election_id = e.id))::text as version
    from elections e where e.id = ${electionId}`
  return row?.version ?? null
}

/** Votes per candidate per minute of casting, and the reconciliation snapshots over time. */
export async function loadTrend(db: Db, electionId: string) {
  const minutes = await db<{ minute: Date; candidateId: string; votes: number }[]>`
    select minute, candidate_id, sum(votes)::float8 as votes from trend_buckets where election_id = ${electionId} group by 1, 2 order by 1, 2`
  const snapshots = await db<{ takenAt: Date; candidateId: string; votes: number }[]>`
    select taken_at, candidate_id, votes::float8 from trend_snapshots where election_id = ${electionId} order by 1, 2`
  return { minutes, snapshots }
}
