import { log } from '@temporalio/activity'
import { contradiction, decideCall, finalCountDisagreement, outstandingBallots, votesByScope } from '../domain/results.ts'
import { latestCalls, raceFacts, recordCall, retractCall } from '../lib/db/race-calls.ts'
import { lockResults, nextResultsVersion } from '../lib/db/versions.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'

export interface CallsDecided {
  called: Array<{ regionId: string | null; candidateId: string }>
  retracted: Array<{ regionId: string | null; candidateId: string; reason: string }>
}

/**
 * The one writer of race calls: only the election workflow calls these activities, and
 * each decision runs under the election's results lock, so two attempts never race.
 * Reads (the API, SSE, Grafana, the tally's publisher) only show what is recorded here.
 */
export function createRaceCallActivities({ sql, tallyGroupId }: ActivityDeps) {
  async function decide(electionId: string, options: { final: boolean }): Promise<CallsDecided> {
    const out: CallsDecided = { called: [], retracted: [] }
    await sql.begin(async (tx) => {
      await lockResults(tx, [electionId])
      const facts = await raceFacts(tx, electionId, tallyGroupId, TOPICS.votes.name)
      const calls = new Map((await latestCalls(tx, electionId)).map((c) => [c.regionId, c]))
      let version: string | undefined
      const v = async () => {
        version ??= await nextResultsVersion(tx)
        return version
      }
      const votesIn = votesByScope(facts.votes, facts.candidates)
      const scopes: Array<string | null> = [null, ...facts.regions]
      for (const scope of scopes) {
        const votes = votesIn(scope)
        const counted = votes.reduce((s, x) => s + x.votes, 0)
        const standing = calls.get(scope)
        if (standing?.status === 'standing') {
          const reason = options.final ? finalCountDisagreement(standing, votes) : contradiction(standing, votes)
          if (!reason) continue
          await retractCall(tx, standing.id, reason, await v())
          out.retracted.push({ regionId: scope, candidateId: standing.candidateId, reason })
          log.error('race call retracted: the counts contradict it', {
            electionId,
            regionId: scope,
            candidateId: standing.candidateId,
            reason,
          })
        }
        const planned =
          scope === null
            ? facts.planned.size > 0
              ? [...facts.planned.values()].reduce((s, n) => s + n, 0)
              : null
            : (facts.planned.get(scope) ?? null)
        const bound = outstandingBallots({ status: facts.status, simulated: facts.simulated, planned, counted, backlog: facts.backlog })
        const decision = decideCall(votes, bound)
        if (!decision) continue
        await recordCall(tx, electionId, scope, decision, await v())
        out.called.push({ regionId: scope, candidateId: decision.candidateId })
      }
    })
    if (out.called.length > 0) log.info('races called', { electionId, called: out.called })
    return out
  }

  return {
    /** Calls every race (the election's, each region's) that no ballot still to come can overturn. */
    async decideRaceCalls(electionId: string): Promise<CallsDecided> {
      return decide(electionId, { final: false })
    },
    /** At the final count: every standing call must name the leader, or it is retracted. */
    async checkRaceCallsAgainstFinalCount(electionId: string): Promise<CallsDecided> {
      return decide(electionId, { final: true })
    },
  }
}
