import type { BallotCell, RegionInfo, VoteCell } from '../../domain/contest-results.ts'
import type { DISTRICT_LEVELS, ResolvedDefinition } from '../../domain/contests.ts'
import { mixedRankings, type RankingCount } from './ballot-box.ts'
import { loadDefinitions } from './contests.ts'
import { type ElectionRow, getElection } from './elections.ts'
import type { Db } from './sql.ts'

/** What a NIST 1500-100 results export of an election is made from (domain/exports/cdf-results.ts). */
export interface CdfExportFacts {
  election: ElectionRow
  version: number
  definition: ResolvedDefinition
  regions: RegionInfo[]
  districts: Array<{ id: string; name: string; level: (typeof DISTRICT_LEVELS)[number] }>
  votes: Array<VoteCell & { contestId: string }>
  ballots: Array<BallotCell & { contestId: string }>
  turnout: Array<{ regionId: string; ballots: number }>
  /** Each ranked contest's rankings mixed into the box (rcv_rankings): its rounds. */
  rankings: Map<string, RankingCount[]>
}

/**
 * An election's contests counted per contest × region × channel (× line), its map and its
 * districts, read in the caller's snapshot (a repeatable-read transaction); null for an
 * election without contests. The counts come through the public views over the count vectors (released while counting),
 * summed over partitions: one statement for all contests, not one per contest.
 */
export async function readCdfExportFacts(db: Db, electionId: string): Promise<CdfExportFacts | null> {
  const election = await getElection(db, electionId)
  const definition = (await loadDefinitions(db, [electionId])).get(electionId)
  if (!definition) return null
  const [regions, districts, votes, ballots, turnout, version] = await Promise.all([
    db<RegionInfo[]>`
      select id, name, state, registered_voters::float8 as registered_voters
      from regions where election_id = ${electionId} order by state, name, id`,
    db<CdfExportFacts['districts']>`select id, name, level from districts where election_id = ${electionId} order by position`,
    db<CdfExportFacts['votes']>`
      select contest_id, region_id, channel, selection_id, sum(votes)::float8 as votes
      from public_contest_counts where election_id = ${electionId} group by 1, 2, 3, 4`,
    db<CdfExportFacts['ballots']>`
      select contest_id, region_id, channel, sum(ballots)::float8 as ballots,
             sum(undervotes)::float8 as undervotes, sum(overvotes)::float8 as overvotes
      from public_contest_ballots where election_id = ${electionId} group by 1, 2, 3`,
    // Every counted ballot of an election with contests is one BALLOTS_KEY vote of its region.
    db<CdfExportFacts['turnout']>`
      select region_id, sum(votes)::float8 as ballots from tally_counts where election_id = ${electionId} group by 1`,
    db<{ version: number }[]>`select results_version(${electionId})::float8 as version`,
  ])
  const rankings = new Map<string, RankingCount[]>()
  for (const c of definition.contests) if (c.rcv) rankings.set(c.id, await mixedRankings(db, electionId, c.id))
  return { election, version: version[0]?.version ?? 0, definition, regions, districts, votes, ballots, turnout, rankings }
}
