import type { Db } from '../lib/db/sql.ts'
import { takeResultsVersion } from '../lib/db/versions.ts'
import type { ActivityDeps } from './deps.ts'

export interface Difference {
  candidateId: string
  regionId: string
  channel: string
  ballots: number
  tallied: number
}

export interface ReconciliationReport {
  id: number
  electionId: string
  ranAt: string
  ballots: number
  tallied: number
  differences: Difference[]
  repaired: boolean
  verdict: 'match' | 'repaired'
}

/** Ballots and running counts compared per candidate, region and channel: one statement, one snapshot. */
async function findDifferences(db: Db, electionId: string) {
  return db<Difference[]>`
    with counted as (
      select candidate_id, region_id, channel, count(*)::int as n from ballots where election_id = ${electionId} group by 1, 2, 3
    ), running as (
      select candidate_id, region_id, channel, sum(votes)::int as n from tally_counts where election_id = ${electionId} group by 1, 2, 3
    )
    select candidate_id, region_id, channel, coalesce(c.n, 0) as ballots, coalesce(r.n, 0) as tallied
    from counted c full join running r using (candidate_id, region_id, channel)
    where c.n is distinct from r.n`
}

export function createTallyActivities({ sql }: ActivityDeps) {
  return {
    /**
     * The batch recount: compares the streaming tallies with a recount of the raw
     * ballots, repairs any drift, stores a report and a trend snapshot.
     */
    async reconcileElection(electionId: string, options: { final: boolean }): Promise<ReconciliationReport> {
      let differences = await findDifferences(sql, electionId)
      let repaired = false
      if (differences.length > 0) {
        // Under a lock that waits for the tally's in-flight transactions and holds new
        // ones back, so the recount and the rewrite see the same ballots.
        differences = await sql.begin(async (tx) => {
          // The election's results lock first, as counting takes it (see versions.ts).
          const version = await takeResultsVersion(tx, [electionId])
          await tx`lock table tally_counts in share row exclusive mode`
          const found = await findDifferences(tx, electionId)
          for (const d of found) {
            await tx`delete from tally_counts where election_id = ${electionId} and candidate_id = ${d.candidateId}
                     and region_id = ${d.regionId} and channel = ${d.channel}`
            await tx`
              insert into tally_counts (election_id, candidate_id, region_id, channel, kafka_partition, votes, version)
              select election_id, candidate_id, region_id, channel, kafka_partition, count(*), ${version}::bigint
              from ballots where election_id = ${electionId} and candidate_id = ${d.candidateId}
                and region_id = ${d.regionId} and channel = ${d.channel}
              group by 1, 2, 3, 4, 5`
          }
          return found
        })
        repaired = differences.length > 0
      }
      const [totals] = await sql<{ ballots: number; tallied: number }[]>`
        select (select count(*) from ballots where election_id = ${electionId})::int as ballots,
               (select coalesce(sum(votes), 0) from tally_counts where election_id = ${electionId})::int as tallied`
      const verdict = repaired ? 'repaired' : 'match'
      const [report] = await sql<{ id: number; ranAt: Date }[]>`
        insert into reconciliation_reports (election_id, final, ballots, tallied, differences, repaired, verdict)
        values (${electionId}, ${options.final}, ${totals?.ballots ?? 0}, ${totals?.tallied ?? 0},
                ${sql.json(differences.map((d) => ({ ...d })))}, ${repaired}, ${verdict})
        returning id, ran_at`
      await sql`
        insert into trend_snapshots (election_id, taken_at, candidate_id, votes)
        select election_id, ${report?.ranAt ?? new Date()}, candidate_id, votes from tallies where election_id = ${electionId}
        on conflict do nothing`
      return {
        id: Number(report?.id),
        electionId,
        ranAt: (report?.ranAt ?? new Date()).toISOString(),
        ballots: totals?.ballots ?? 0,
        tallied: totals?.tallied ?? 0,
        differences,
        repaired,
        verdict,
      }
    },
  }
}
