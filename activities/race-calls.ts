import { log } from '@temporalio/activity'
import { type ContestCall, contestCallContradiction, decideContestCalls } from '../domain/contest-calls.ts'
import { contestTotals, regionsOfContests } from '../domain/contest-totals.ts'
import { decideRankedCall, rankedCallContradiction } from '../domain/rcv/calls.ts'
import { contestRounds, roundTallies } from '../domain/rcv/contest-rounds.ts'
import type { RcvResult } from '../domain/rcv/tabulate.ts'
import { contradiction, decideCall, finalCountDisagreement, outstandingBallots, votesByScope } from '../domain/results.ts'
import { mixedRankings, runningRankings, storeRoundTallies } from '../lib/db/ballot-box.ts'
import { latestContestCalls, recordContestCall, retractContestCall } from '../lib/db/contest-calls.ts'
import { readContestTotalsInput } from '../lib/db/contest-totals.ts'
import { latestCalls, raceFacts, recordCall, retractCall } from '../lib/db/race-calls.ts'
import { preferHashJoins } from '../lib/db/sql.ts'
import { lockResults, nextResultsVersion } from '../lib/db/versions.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'
import { heartbeating } from './heartbeat.ts'

export interface CallsDecided {
  called: Array<{ regionId: string | null; candidateId: string }>
  retracted: Array<{ regionId: string | null; candidateId: string; reason: string }>
}

export interface ContestCallsDecided {
  called: Array<Pick<ContestCall, 'contestId' | 'selectionId' | 'outcome'>>
  retracted: Array<Pick<ContestCall, 'contestId' | 'selectionId' | 'outcome'> & { reason: string }>
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

  /**
   * The calls of every contest of an election with contests: a standing call the counts
   * contradict is retracted (loudly), then every seat and measure that no ballot still to
   * come can change is called. The bound per contest is the election's (outstandingBallots)
   * over the contest's regions: a simulation's planned ballots there not yet counted while
   * open, the log's unread backlog while closing, none once closed.
   */
  async function decideContests(electionId: string): Promise<ContestCallsDecided> {
    const out: ContestCallsDecided = { called: [], retracted: [] }
    await sql.begin(async (tx) => {
      await lockResults(tx, [electionId])
      await preferHashJoins(tx)
      const input = await readContestTotalsInput(tx, electionId, 'counted')
      if (!input) return
      const facts = await raceFacts(tx, electionId, tallyGroupId, TOPICS.votes.name)
      // Every ballot counted, nothing suppressed: the writer sees the whole count.
      const totals = new Map(contestTotals({ ...input, finished: false, calls: [], minCellBallots: 1 }).map((t) => [t.id, t]))
      const regionsOf = regionsOfContests(input.contests, input.layouts, input.regions)
      const calls = new Map<string, Array<ContestCall & { id: string }>>()
      for (const c of await latestContestCalls(tx, electionId)) calls.set(c.contestId, [...(calls.get(c.contestId) ?? []), c])
      let version: string | undefined
      const v = async () => {
        version ??= await nextResultsVersion(tx)
        return version
      }
      for (const rules of input.contests) {
        const votes = new Map(Object.entries(totals.get(rules.id)?.votes ?? {}))
        // A ranked contest is called from its rounds (domain/rcv/calls.ts), not its first choices.
        const rounds: RcvResult | null = rules.rcv ? contestRounds(rules, await runningRankings(tx, electionId, rules.id)) : null
        if (rules.rcv) {
          // Grafana's copy of the public rounds: from the mixed rankings, as the API serves them.
          const mixed = contestRounds(rules, await mixedRankings(tx, electionId, rules.id))
          await storeRoundTallies(tx, electionId, rules.id, mixed.ballots - mixed.undervotes, roundTallies(mixed))
        }
        const standing: ContestCall[] = []
        for (const call of calls.get(rules.id) ?? []) {
          if (call.status !== 'standing') continue
          const reason = rounds ? rankedCallContradiction(call, rounds) : contestCallContradiction(rules, call, votes)
          if (!reason) {
            standing.push(call)
            continue
          }
          await retractContestCall(tx, call.id, reason, await v())
          out.retracted.push({ contestId: rules.id, selectionId: call.selectionId, outcome: call.outcome, reason })
          log.error('contest call retracted: the counts contradict it', {
            electionId,
            contestId: rules.id,
            selectionId: call.selectionId,
            reason,
          })
        }
        const regions = regionsOf.get(rules.id) ?? []
        const bound = outstandingBallots({
          status: facts.status,
          simulated: facts.simulated,
          planned: facts.planned.size > 0 ? regions.reduce((s, r) => s + (facts.planned.get(r.id) ?? 0), 0) : null,
          counted: regions.reduce((s, r) => s + r.ballots, 0),
          backlog: facts.backlog,
        })
        const decisions = rounds
          ? [decideRankedCall(rules.id, rounds, bound, standing)].flatMap((d) => (d ? [d] : []))
          : decideContestCalls(rules, votes, bound, standing)
        for (const decision of decisions) {
          await recordContestCall(tx, electionId, decision, await v())
          out.called.push({ contestId: rules.id, selectionId: decision.selectionId, outcome: decision.outcome })
        }
      }
    })
    if (out.called.length > 0) log.info('contests called', { electionId, called: out.called.length })
    return out
  }

  return {
    /**
     * Decides the contests' calls (see decideContests). The workflow runs it every few
     * seconds while a simulation produces, and again when the polls close and at the final
     * count: it reads every count vector of the election, too much to do per chunk.
     */
    async decideContestCalls(electionId: string): Promise<ContestCallsDecided> {
      return heartbeating(decideContests(electionId), 'deciding contest calls', 5_000)
    },
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
