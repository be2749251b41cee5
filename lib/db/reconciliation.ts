import { BALLOTS_KEY } from '../../domain/contests.ts'
import type { LedgerRow } from '../../domain/ledger.ts'
import type { ReconciliationDifference, ReconciliationReport } from '../../domain/reconciliation.ts'
import type { CellMismatch } from '../../domain/results.ts'
import type { recountContests } from './contest-recount.ts'
import type { Db, Sql } from './sql.ts'

export type ContestRecount = Awaited<ReturnType<typeof recountContests>>

import { takeResultsVersion } from './versions.ts'

export type Difference = ReconciliationDifference

/** Ballots and running counts compared per candidate, region and channel: one statement, one snapshot. */
export async function findDifferences(db: Db, electionId: string) {
  return db<Difference[]>`
    with counted as (
      -- A poll book entry of an election with contests counts as a ballot (BALLOTS_KEY).
      select coalesce(candidate_id, ${BALLOTS_KEY}) as candidate_id, region_id, channel, count(*) as n
      from ballots where election_id = ${electionId} group by 1, 2, 3
    ), running as (
      select candidate_id, region_id, channel, sum(votes) as n from tally_counts where election_id = ${electionId} group by 1, 2, 3
    )
    select candidate_id, region_id, channel, coalesce(c.n, 0)::float8 as ballots, coalesce(r.n, 0)::float8 as tallied
    from counted c full join running r using (candidate_id, region_id, channel)
    where c.n is distinct from r.n`
}

/**
 * Rewrites the running counts that differ from a recount of the ballots, under a lock that
 * waits for the tally's transactions in flight and holds new ones back, so the recount
 * and the rewrite see the same ballots. The election's results lock comes first, as
 * counting takes it (see versions.ts). Returns the differences it repaired.
 */
export async function repairDifferences(sql: Sql, electionId: string): Promise<Difference[]> {
  return sql.begin(async (tx) => {
    const version = await takeResultsVersion(tx, [electionId])
    await tx`lock table tally_counts in share row exclusive mode`
    const found = await findDifferences(tx, electionId)
    for (const d of found) {
      await tx`delete from tally_counts where election_id = ${electionId} and candidate_id = ${d.candidateId}
               and region_id = ${d.regionId} and channel = ${d.channel}`
      await tx`
        insert into tally_counts (election_id, candidate_id, region_id, channel, kafka_partition, votes, version)
        select election_id, coalesce(candidate_id, ${BALLOTS_KEY}), region_id, channel, kafka_partition, count(*), ${version}::bigint
        from ballots where election_id = ${electionId} and coalesce(candidate_id, ${BALLOTS_KEY}) = ${d.candidateId}
          and region_id = ${d.regionId} and channel = ${d.channel}
        group by 1, 2, 3, 4, 5`
    }
    // A repair that only deletes (a phantom row: counts with no ballots behind them) writes
    // no row with the new version, and results_version would not move (or would go down):
    // readers would keep the pre-repair counts. The repair's version becomes the election's.
    if (found.length > 0) await tx`update elections set version = greatest(version, ${version}::bigint) where id = ${electionId}`
    return found
  })
}

/** Records a reconciliation report and a trend snapshot taken at the same moment. */
export async function recordReconciliation(
  sql: Sql,
  report: {
    electionId: string
    final: boolean
    differences: Difference[]
    repaired: boolean
    ledger: LedgerRow[] | null
    contests: ContestRecount | null
  },
) {
  const ledgerBalanced = report.ledger ? report.ledger.every((r) => r.balanced && r.contiguous) : null
  return sql.begin(async (tx) => {
    const [totals] = await tx<{ ballots: number; tallied: number }[]>`
      select (select count(*) from ballots where election_id = ${report.electionId})::float8 as ballots,
             (select coalesce(sum(votes), 0) from tally_counts where election_id = ${report.electionId})::float8 as tallied`
    const [row] = await tx<{ id: string; ranAt: Date }[]>`
      insert into reconciliation_reports (election_id, final, ballots, tallied, differences, repaired, verdict, ledger, ledger_balanced, contests)
      values (${report.electionId}, ${report.final}, ${totals?.ballots ?? 0}, ${totals?.tallied ?? 0},
              ${tx.json(report.differences.map((d) => ({ ...d })))}, ${report.repaired}, ${report.repaired ? 'repaired' : 'match'},
              ${report.ledger ? tx.json(report.ledger.map((l) => ({ ...l }))) : null}, ${ledgerBalanced},
              ${report.contests ? tx.json(JSON.parse(JSON.stringify(report.contests))) : null})
      returning id::text, ran_at`
    await tx`
      insert into trend_snapshots (election_id, taken_at, candidate_id, votes)
      select election_id, ${row?.ranAt ?? new Date()}, candidate_id, votes from tallies where election_id = ${report.electionId}
      on conflict do nothing`
    return {
      id: Number(row?.id),
      ranAt: row?.ranAt ?? new Date(),
      ballots: totals?.ballots ?? 0,
      tallied: totals?.tallied ?? 0,
      ledgerBalanced,
    }
  })
}

/** The latest reconciliation report of an election (the final one, once there is one), and how many ran and repaired. */
export async function latestReconciliation(db: Db, electionId: string) {
  const [latest] = await db<(Omit<ReconciliationReport, 'electionId' | 'ranAt'> & { ranAt: Date })[]>`
    select ran_at, final, ballots::float8, tallied::float8, verdict, repaired, differences, ledger, ledger_balanced
    from reconciliation_reports
    where election_id = ${electionId} order by final desc, id desc limit 1`
  const [counts] = await db<{ reports: number; repairs: number }[]>`
    select count(*)::float8 as reports, count(*) filter (where repaired)::float8 as repairs
    from reconciliation_reports where election_id = ${electionId}`
  return { latest, counts }
}

/**
 * A simulated election's ground truth (stored at certification) next to what was counted.
 * Each side is filtered to the election before the join, so a reason injected or
 * rejected only in another election cannot hide this one's. Rejections are counted by
 * ballot: a generator that retried after a crash re-sends the same invalid ballots, and
 * each re-sent message is a rejection of its own in the ledger, but not another injected
 * ballot (messages with no ballot id, such as bytes that are not JSON, by the hash of their
 * bytes, which is kept when the bytes are purged).
 */
export async function simulationComparison(db: Db, electionId: string) {
  const candidates = await db<{ candidateId: string; generated: number; counted: number }[]>`
    select c.id as candidate_id,
           coalesce((select sum(votes) from simulation_truth s where s.election_id = c.election_id and s.candidate_id = c.id), 0)::float8 as generated,
           coalesce((select votes from tallies t where t.election_id = c.election_id and t.candidate_id = c.id), 0)::float8 as counted
    from candidates c where c.election_id = ${electionId} order by c.position`
  const rejections = await db<{ reason: string; injected: number; rejected: number }[]>`
    select reason, coalesce(i.ballots, 0)::float8 as injected, coalesce(r.n, 0)::float8 as rejected
    from (select reason, ballots from simulation_injected where election_id = ${electionId}) i
    full join (select reason, count(distinct coalesce(ballot_id, encode(coalesce(raw_sha256, sha256(raw)), 'hex'))) as n from rejected_ballots where election_id = ${electionId} group by 1) r using (reason)
    order by reason`
  // Cell by cell: candidate × region × channel (truth stored before 0008 has channel '*':
  // compared per candidate and region). Only the first mismatches are listed.
  const [cells] = await db<{ compared: number; mismatched: number; examples: CellMismatch[] | null }[]>`
    with truth as (select candidate_id, region_id, channel, votes from simulation_truth where election_id = ${electionId}),
    legacy as (select exists (select 1 from truth where channel = '*') as yes),
    counted as (
      select candidate_id, region_id, case when (select yes from legacy) then '*' else channel end as channel, sum(votes) as votes
      from tally_counts where election_id = ${electionId} group by 1, 2, 3
    ), cells as (
      select candidate_id, region_id, channel, coalesce(t.votes, 0)::float8 as generated, coalesce(c.votes, 0)::float8 as counted
      from truth t full join counted c using (candidate_id, region_id, channel)
    )
    select count(*)::float8 as compared, count(*) filter (where generated <> counted)::float8 as mismatched,
           (select json_agg(m) from (select candidate_id as "candidateId", region_id as "regionId", channel, generated, counted
                                     from cells where generated <> counted order by 2, 1, 3 limit 20) m) as examples
    from cells`
  return {
    candidates,
    rejections,
    cells: { compared: cells?.compared ?? 0, mismatched: cells?.mismatched ?? 0, examples: cells?.examples ?? [] },
  }
}
