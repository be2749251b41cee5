import { Context } from '@temporalio/activity'
import { Simulation } from '../domain/simulation.ts'
import { sendBallots } from '../lib/ballot-producer.ts'
import { createSimulatedRoll, getElection, setElectionStatus } from '../lib/db/elections.ts'
import { recordVotesPartitions } from '../lib/db/polls.ts'
import { storePlannedBallots } from '../lib/db/race-calls.ts'
import { runningCounts } from '../lib/db/results.ts'
import { loadPlan } from '../lib/db/simulation.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'

/** Sub-batches per second: how smoothly a chunk is paced. */
const TICKS_PER_SECOND = 10

export function createBallotActivities({ sql, producer, admin }: ActivityDeps) {
  const simulations = new Map<string, Simulation>()
  async function simulationOf(electionId: string): Promise<Simulation> {
    let sim = simulations.get(electionId)
    if (!sim) {
      sim = new Simulation(await loadPlan(sql, electionId))
      simulations.set(electionId, sim)
    }
    return sim
  }

  return {
    /**
     * Opens the polls; for a simulation, first writes the voter roll it will draw on (minutes
     * for millions: it heartbeats). Records the partition count of `votes` first, which
     * certification compares with the close's (one voter's ballots must share a partition).
     */
    async openElection(electionId: string): Promise<{ ballotCount: number }> {
      const ctx = Context.current()
      const election = await getElection(sql, electionId)
      let ballotCount = 0
      if (election.simulated) {
        const sim = await simulationOf(electionId)
        // Heartbeats the roll written so far; a retry resumes there.
        const resumed = ctx.info.heartbeatDetails as { rollFrom: number } | undefined
        await createSimulatedRoll(sql, sim.plan, { from: resumed?.rollFrom ?? 0, progress: (next) => ctx.heartbeat({ rollFrom: next }) })
        await storePlannedBallots(sql, electionId, sim.plannedPerRegion())
        ballotCount = sim.ballotCount
      }
      await recordVotesPartitions(sql, electionId, (await admin.fetchTopicOffsets(TOPICS.votes.name)).length)
      await setElectionStatus(sql, electionId, 'open')
      return { ballotCount }
    },

    /**
     * Sends the generator's ballots [from, to) at `ratePerSecond`, heartbeating the next
     * ballot number. A retry resumes from the last heartbeat; anything sent twice has the
     * same ballot id and is counted once.
     */
    async produceBallots(input: { electionId: string; from: number; to: number; ratePerSecond: number }) {
      const ctx = Context.current()
      const sim = await simulationOf(input.electionId)
      const resumed = ctx.info.heartbeatDetails as { next: number } | undefined
      let next = Math.max(input.from, resumed?.next ?? input.from)
      // What an earlier attempt sent still counts as produced by this chunk.
      let messages = 0
      for (let k = input.from; k < next; k++) messages += sim.messagesFor(k, '').length
      const perTick = Math.max(1, Math.ceil(input.ratePerSecond / TICKS_PER_SECOND))
      const started = performance.now()
      const first = next
      while (next < input.to) {
        const end = Math.min(input.to, next + perTick)
        const castAt = new Date().toISOString()
        const batch = []
        for (let k = next; k < end; k++) {
          for (const m of sim.messagesFor(k, castAt)) batch.push({ key: m.key, electionId: input.electionId, ballot: m.ballot, raw: m.raw })
        }
        await sendBallots(producer, batch)
        messages += batch.length
        next = end
        ctx.heartbeat({ next })
        // Open-loop pacing: each tick has its slot, the last one too (or a chunk of one
        // ballot at a low rate would end at once); a slow send is not made up by bursts.
        const wait = started + ((next - first) / input.ratePerSecond) * 1000 - performance.now()
        if (wait > 0) await ctx.sleep(wait)
      }
      return { messages, ...(await runningCounts(sql, input.electionId)) }
    },
  }
}
