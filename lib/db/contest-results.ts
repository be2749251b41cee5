import type { BallotCell, RegionInfo, VoteCell } from '../../domain/contest-results.ts'
import { latestContestCalls } from './contest-calls.ts'
import type { Db } from './sql.ts'

/**
 * One contest's public counts (released while counting, db/migrations/0033) summed over
 * partitions, with its regions and its recorded calls, read in the caller's snapshot.
 */
export async function readContestCounts(db: Db, electionId: string, contestId: string) {
  const votes = await db<VoteCell[]>`
    select region_id, channel, selection_id, sum(votes)::float8 as votes
    from public_contest_counts where election_id = ${electionId} and contest_id = ${contestId} group by 1, 2, 3`
  const ballots = await db<BallotCell[]>`
    select region_id, channel, sum(ballots)::float8 as ballots, sum(undervotes)::float8 as undervotes, sum(overvotes)::float8 as overvotes
    from public_contest_ballots where election_id = ${electionId} and contest_id = ${contestId} group by 1, 2`
  const regions = await db<RegionInfo[]>`
    select r.id, r.name, r.state, r.registered_voters
    from contest_regions cr join regions r on r.election_id = cr.election_id and r.id = cr.region_id
    where cr.election_id = ${electionId} and cr.contest_id = ${contestId} order by r.state, r.name, r.id`
  // The election's own version too: once counting finishes the public reads the counts
  // themselves, whose versions may be older than the last release, and the close is newer.
  const [version] = await db<{ version: number }[]>`
    select greatest(
      (select version from elections where id = ${electionId}),
      (select coalesce(max(version), 0) from public_contest_ballots where election_id = ${electionId} and contest_id = ${contestId}),
      (select coalesce(max(greatest(version, retracted_version)), 0) from contest_calls where election_id = ${electionId} and contest_id = ${contestId})
    )::float8 as version`
  const calls = (await latestContestCalls(db, electionId)).filter((c) => c.contestId === contestId).map(({ id: _, ...call }) => call)
  return { votes, ballots, regions, calls, version: version?.version ?? 0 }
}

/** The contests of an election, in ballot order, with the ballots that carried each so far (as public). */
export async function listContestSummaries(db: Db, electionId: string) {
  return db<
    Array<{
      id: string
      name: string
      kind: 'candidate' | 'measure'
      districtId: string
      votesAllowed: number
      ranked: boolean
      regions: number
      ballots: number
    }>
  >`
    select c.id, c.name, c.kind, c.district_id, c.votes_allowed, c.rcv is not null as ranked,
           (select count(*) from contest_regions cr where cr.election_id = c.election_id and cr.contest_id = c.id)::float8 as regions,
           coalesce((select sum(ballots) from public_contest_ballots b where b.election_id = c.election_id and b.contest_id = c.id), 0)::float8 as ballots
    from contests c where c.election_id = ${electionId} order by c.position`
}
