import type { Db } from './sql.ts'

/** The latest reconciliation report of an election, and how many ran and repaired. */
export async function latestReconciliation(db: Db, electionId: string) {
  const [latest] = await db<
    { ranAt: Date; final: boolean; ballots: number; tallied: number; verdict: string; repaired: boolean; differences: unknown[] }[]
  >`
    select ran_at, final, ballots::float8, tallied::float8, verdict, repaired, differences from reconciliation_reports
    where election_id = ${electionId} order by id desc limit 1`
  const [counts] = await db<{ reports: number; repairs: number }[]>`
    select count(*)::float8 as reports, count(*) filter (where repaired)::float8 as repairs
    from reconciliation_reports where election_id = ${electionId}`
  return { latest, counts }
}

/**
 * A simulated election's ground truth (stored at certification) next to what was counted.
 * Each side is filtered to the election before the join, so a reason injected or
 * rejected only in another election cannot hide this one's.
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
    full join (select reason, count(*) as n from rejected_ballots where election_id = ${electionId} group by 1) r using (reason)
    order by reason`
  return { candidates, rejections }
}
