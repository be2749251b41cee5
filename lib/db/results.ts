import type { RejectionReason } from '../../domain/ballot.ts'
import { reportingStatus } from '../../domain/election.ts'
import { decideCall, type RaceCall, type ResultsSnapshot } from '../../domain/results.ts'
import { getElection } from './elections.ts'
import type { Db } from './sql.ts'

/**
 * Reads an election's results from the running counts (summed over partitions), with a
 * fresh version. Records the race call the first time the rule allows one.
 */
export async function loadResults(db: Db, electionId: string, options: { since?: number } = {}): Promise<ResultsSnapshot> {
  const election = await getElection(db, electionId)
  const [candidates, regions, rejections, [version], [existingCall]] = await Promise.all([
    db<{ id: string; name: string; party: string | null; votes: number }[]>`
      select c.id, c.name, c.party, coalesce(t.votes, 0)::int as votes
      from candidates c left join tallies t on t.election_id = c.election_id and t.candidate_id = c.id
      where c.election_id = ${electionId} order by c.position`,
    db<
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
      select region_id as id, name, state, registered_voters, ballots::int, percent::float8, lat, lon
      from turnout where election_id = ${electionId} order by state, name`,
    db<{ reason: RejectionReason; n: number }[]>`
      select reason, count(*)::int as n from rejected_ballots where election_id = ${electionId} group by reason`,
    db<{ v: number }[]>`
      select greatest(${election.version}::bigint,
                      (select max(version) from tally_counts where election_id = ${electionId}),
                      (select max(version) from rejected_ballots where election_id = ${electionId}))::float8 as v`,
    db<{ candidateId: string; calledAt: Date; rule: string; figures: RaceCall['figures'] }[]>`
      select candidate_id, called_at, rule, figures from race_calls where election_id = ${electionId}`,
  ])
  const counted = candidates.reduce((s, c) => s + c.votes, 0)
  const rejected = rejections.reduce((s, r) => s + r.n, 0)
  const registeredVoters = regions.reduce((s, r) => s + r.registeredVoters, 0)
  const produced = election.producedBallots === null ? null : Number(election.producedBallots)
  // The ballots to expect: once polls close, what was produced; for a simulation, the
  // planned turnout; otherwise every registered voter.
  const planned = (election.settings as { simulation?: { voters: number; turnout: number } }).simulation
  const expected =
    produced !== null
      ? Math.max(0, produced - rejected)
      : election.simulated && planned
        ? Math.floor(planned.voters * planned.turnout)
        : registeredVoters

  let call: RaceCall | null = existingCall
    ? {
        candidateId: existingCall.candidateId,
        calledAt: existingCall.calledAt.toISOString(),
        rule: existingCall.rule,
        figures: existingCall.figures,
      }
    : null
  if (!call) {
    const decided = decideCall({ votes: candidates, status: election.status, registeredVoters, counted, rejected, produced })
    if (decided) {
      const [row] = await db<{ calledAt: Date }[]>`
        insert into race_calls (election_id, candidate_id, rule, figures)
        values (${electionId}, ${decided.candidateId}, ${decided.rule}, ${db.json(decided.figures)})
        on conflict (election_id) do update set election_id = excluded.election_id
        returning called_at`
      await db`update elections set version = nextval('results_version') where id = ${electionId}`
      call = { ...decided, calledAt: (row?.calledAt ?? new Date()).toISOString() }
    }
  }

  return {
    electionId,
    name: election.name,
    status: election.status,
    reportingStatus: reportingStatus(election.status),
    version: version?.v ?? 0,
    asOf: new Date().toISOString(),
    candidates: candidates.map((c) => ({ ...c, share: counted > 0 ? c.votes / counted : 0 })),
    regions: regions.map(({ percent, ...r }) => ({ ...r, turnoutPercent: percent })),
    totals: { counted, rejected, registeredVoters, expected, shareCounted: expected > 0 ? Math.min(1, counted / expected) : 0 },
    rejections: Object.fromEntries(rejections.map((r) => [r.reason, r.n])),
    call,
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

/**
 * An entity tag for conditional requests: the version plus the totals, so a change
 * committed with an older version (versions are taken just before commit, and two
 * transactions may commit out of order) still changes the tag.
 */
export function resultsEtag(s: ResultsSnapshot): string {
  return `"${s.version}-${s.totals.counted}-${s.totals.rejected}-${s.status}-${s.call ? 1 : 0}"`
}

/** Ballots counted (from the raw ballots) and rejected so far for an election. */
export async function recordedCounts(db: Db, electionId: string): Promise<{ counted: number; rejected: number }> {
  const [row] = await db<{ counted: number; rejected: number }[]>`
    select (select count(*) from ballots where election_id = ${electionId})::int as counted,
           (select count(*) from rejected_ballots where election_id = ${electionId})::int as rejected`
  return { counted: row?.counted ?? 0, rejected: row?.rejected ?? 0 }
}
