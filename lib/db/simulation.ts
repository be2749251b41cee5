import type { RejectionReason } from '../../domain/ballot.ts'
import { CONTEST_LINES, type SimulationPlan } from '../../domain/simulation.ts'
import { candidatesFor } from '../../domain/simulation-geography.ts'
import { getElection } from './elections.ts'
import type { Db, Sql } from './sql.ts'

/** Rebuilds a simulated election's plan from what was stored when it was created. */
export async function loadPlan(db: Db, electionId: string): Promise<SimulationPlan> {
  const election = await getElection(db, electionId)
  const settings = election.settings.simulation
  if (!settings) throw new Error(`election ${electionId} has no simulation settings`)
  const stored = await db<{ id: string; name: string; party: string | null }[]>`
    select id, name, party from candidates where election_id = ${electionId} order by position`
  // An election with contests stores no candidates of its own; the generator's per-ballot
  // draws do not depend on them (only a one-contest ballot's choice does).
  const candidates = stored.length > 0 ? stored : candidatesFor(2).map((c) => ({ ...c, party: c.party ?? null }))
  const regions = await db<{ id: string; name: string; state: string; registeredVoters: number; lat: number | null; lon: number | null }[]>`
    select id, name, state, registered_voters, lat, lon from regions where election_id = ${electionId} order by position`
  return {
    electionId,
    settings,
    candidates: candidates.map((c) => ({ id: c.id, name: c.name, party: c.party ?? undefined })),
    regions: regions.map((r) => ({ ...r, lat: r.lat ?? undefined, lon: r.lon ?? undefined })),
  }
}

/**
 * Stores what a simulation generated (votes per `candidate|region|channel`, injected
 * rejections per reason), replacing what a retried certification stored before.
 */
export async function storeSimulationTruth(
  sql: Sql,
  electionId: string,
  truth: { votes: Map<string, number>; rejections: Map<RejectionReason, number> },
) {
  const votes = [...truth.votes.entries()].map(([k, n]) => [...k.split('|'), n] as [string, string, string, number])
  const injected = [...truth.rejections.entries()]
  await sql.begin(async (tx) => {
    await tx`delete from simulation_truth where election_id = ${electionId}`
    await tx`delete from simulation_injected where election_id = ${electionId}`
    if (votes.length > 0) {
      await tx`insert into simulation_truth (election_id, candidate_id, region_id, channel, votes)
        select ${electionId}, * from unnest(${votes.map((v) => v[0])}::text[], ${votes.map((v) => v[1])}::text[],
                                            ${votes.map((v) => v[2])}::text[], ${votes.map((v) => v[3])}::bigint[])`
    }
    if (injected.length > 0) {
      await tx`insert into simulation_injected (election_id, reason, ballots)
        select ${electionId}, * from unnest(${injected.map((i) => i[0])}::text[], ${injected.map((i) => i[1])}::bigint[])`
    }
  })
}

/** Stores what a simulation with contests generated, per `contest|line|region|channel` (Simulation.contestTruth). */
export async function storeContestTruth(sql: Sql, electionId: string, truth: Map<string, number>) {
  const rows = [...truth.entries()].map(([k, n]) => [...k.split('|'), n] as [string, string, string, string, number])
  await sql.begin(async (tx) => {
    await tx`delete from simulation_contest_truth where election_id = ${electionId}`
    const CHUNK = 50_000
    for (let i = 0; i < rows.length; i += CHUNK) {
      const part = rows.slice(i, i + CHUNK)
      await tx`insert into simulation_contest_truth (election_id, contest_id, line, region_id, channel, n)
        select ${electionId}, * from unnest(${part.map((r) => r[0])}::text[], ${part.map((r) => r[1])}::text[],
                                            ${part.map((r) => r[2])}::text[], ${part.map((r) => r[3])}::text[], ${part.map((r) => r[4])}::bigint[])`
    }
  })
}

/**
 * Every contest × line × region × channel where the running counts differ from what the
 * simulation generated (at most 100 listed), and how many cells were compared.
 */
export async function compareContestTruth(db: Db, electionId: string) {
  const cells = db`
    select contest_id, ${CONTEST_LINES.ballots}::text as line, region_id, channel, sum(ballots) as n
    from contest_ballots where election_id = ${electionId} group by 1, 2, 3, 4
    union all
    select contest_id, ${CONTEST_LINES.undervotes}, region_id, channel, sum(undervotes) from contest_ballots where election_id = ${electionId} group by 1, 2, 3, 4
    union all
    select contest_id, ${CONTEST_LINES.overvotes}, region_id, channel, sum(overvotes) from contest_ballots where election_id = ${electionId} group by 1, 2, 3, 4
    union all
    select contest_id, selection_id, region_id, channel, sum(votes) from contest_counts where election_id = ${electionId} group by 1, 2, 3, 4`
  const [row] = await db<{ compared: number; differing: number; differences: Array<Record<string, unknown>> }[]>`
    with counted as (select * from (${cells}) c where n > 0),
    truth as (select contest_id, line, region_id, channel, n from simulation_contest_truth where election_id = ${electionId}),
    joined as (
      -- Grouped, not joined: a nested loop over these CTEs never ends.
      select contest_id, line, region_id, channel, sum(g) as generated, sum(c) as counted
      from (select contest_id, line, region_id, channel, n as g, 0 as c from truth
            union all select contest_id, line, region_id, channel, 0, n from counted) x
      group by 1, 2, 3, 4
    )
    select count(*)::float8 as compared, count(*) filter (where generated <> counted)::float8 as differing,
           coalesce((select jsonb_agg(d) from (select * from joined where generated <> counted limit 100) d), '[]') as differences
    from joined`
  return { compared: row?.compared ?? 0, differing: row?.differing ?? 0, differences: row?.differences ?? [] }
}
