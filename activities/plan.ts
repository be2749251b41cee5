import type { SimulationPlan } from '../domain/simulation.ts'
import { getElection } from '../lib/db/elections.ts'
import type { Db } from '../lib/db/sql.ts'

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
