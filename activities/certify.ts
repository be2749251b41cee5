import { Simulation } from '../domain/simulation.ts'
import { getElection, setElectionStatus } from '../lib/db/elections.ts'
import { loadResults } from '../lib/db/results.ts'
import { loadPlan, storeSimulationTruth } from '../lib/db/simulation.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'

export function createCertifyActivities({ sql, producer }: ActivityDeps) {
  return {
    /**
     * Certifies the counted result and publishes it. For a simulation it also stores
     * what the generator produced, so anyone can compare the count with the truth.
     */
    async certifyElection(electionId: string, options: { ballotsGenerated: number | null }) {
      const election = await getElection(sql, electionId)
      if (election.simulated && options.ballotsGenerated !== null) {
        const truth = new Simulation(await loadPlan(sql, electionId)).groundTruthByChannel(options.ballotsGenerated)
        await storeSimulationTruth(sql, electionId, truth)
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
