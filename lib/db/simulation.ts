import type { RejectionReason } from '../../domain/ballot.ts'
import type { SimulationPlan } from '../../domain/simulation.ts'
import { getElection } from './elections.ts'
import type { Db, Sql } from './sql.ts'

/** Rebuilds a simulated election's plan from what was stored when it was created. */
export async function loadPlan(db: Db, electionId: string): Promise<SimulationPlan> {
  const election = await getElection(db, electionId)
  const settings = (election.settings as { simulation?: SimulationPlan['settings'] }).simulation
  if (!settings) throw new Error(`election ${electionId} has no simulation settings`)
  const candidates = await db<{ id: string; name: string; party: string | null }[]>`
    select id, name, party from candidates where election_id = ${electionId} order by position`
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
