import { Simulation } from '../domain/simulation.ts'
import { getElection, setElectionStatus } from '../lib/db/elections.ts'
import { loadResults } from '../lib/db/results.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'
import { loadPlan } from './plan.ts'

export function createCertifyActivities({ sql, producer }: ActivityDeps) {
  return {
    /**
     * Certifies the counted result and publishes it. For a simulation it also stores
     * what the generator produced, so anyone can compare the count with the truth.
     */
    async certifyElection(electionId: string, options: { ballotsGenerated: number | null }) {
      const election = await getElection(sql, electionId)
      if (election.simulated && options.ballotsGenerated !== null) {
        const truth = new Simulation(await loadPlan(sql, electionId)).groundTruth(options.ballotsGenerated)
        const votes = [...truth.votes.entries()].map(([k, n]) => [...k.split('|'), n] as [string, string, number])
        const injected = [...truth.rejections.entries()]
        await sql.begin(async (tx) => {
          await tx`delete from simulation_truth where election_id = ${electionId}`
          await tx`delete from simulation_injected where election_id = ${electionId}`
          if (votes.length > 0) {
            await tx`insert into simulation_truth (election_id, candidate_id, region_id, votes)
              select ${electionId}, * from unnest(${votes.map((v) => v[0])}::text[], ${votes.map((v) => v[1])}::text[], ${votes.map((v) => v[2])}::bigint[])`
          }
          if (injected.length > 0) {
            await tx`insert into simulation_injected (election_id, reason, ballots)
              select ${electionId}, * from unnest(${injected.map((i) => i[0])}::text[], ${injected.map((i) => i[1])}::bigint[])`
          }
        })
      }
      await setElectionStatus(sql, electionId, 'certified')
      const snapshot = await loadResults(sql, electionId)
      await producer.send({
        topic: TOPICS.results.name,
        acks: -1,
        messages: [{ key: electionId, value: JSON.stringify(snapshot), headers: { version: String(snapshot.version), certified: 'true' } }],
      })
      return { counted: snapshot.totals.counted, rejected: snapshot.totals.rejected, version: snapshot.version }
    },
  }
}
