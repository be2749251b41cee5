import { Context } from '@temporalio/activity'
import { type CertificationCheck, checkCertification } from '../domain/certification.ts'
import { contestCallContradiction } from '../domain/contest-calls.ts'
import { contestTotals } from '../domain/contest-totals.ts'
import { rankedCallContradiction } from '../domain/rcv/calls.ts'
import { contestRounds, firstChoiceDifferences, firstChoicesOf, rankingDifferences } from '../domain/rcv/contest-rounds.ts'
import { finalCountDisagreement, votesByScope } from '../domain/results.ts'
import { Simulation } from '../domain/simulation.ts'
import { mixedRankings, recountedRankings, runningRankings } from '../lib/db/ballot-box.ts'
import { adjudications, recordCertificationCheck, retractedCalls, turnoutOverRoll } from '../lib/db/certification.ts'
import { latestContestCalls } from '../lib/db/contest-calls.ts'
import { recountContests } from '../lib/db/contest-recount.ts'
import { readContestTotalsInput } from '../lib/db/contest-totals.ts'
import { loadDefinitions } from '../lib/db/contests.ts'
import { messageLedger, storedOffsets } from '../lib/db/counting.ts'
import { getElection, setElectionStatus } from '../lib/db/elections.ts'
import { logGapsSince } from '../lib/db/log-gaps.ts'
import { closeMarks, votersOnTwoPartitions, votesPartitionsAtOpen } from '../lib/db/polls.ts'
import { latestCalls, raceFacts } from '../lib/db/race-calls.ts'
import { findDifferences } from '../lib/db/reconciliation.ts'
import { loadResults } from '../lib/db/results.ts'
import { loadPlan, storeContestTruth, storeSimulationTruth } from '../lib/db/simulation.ts'
import { readSnapshot, type Sql } from '../lib/db/sql.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'
import { heartbeating } from './heartbeat.ts'

/** The standing contest calls, and those the final count does not bear out (a tie for the last seat does not). */
async function wrongContestCalls(
  sql: Sql,
  electionId: string,
): Promise<{ standing: number; wrong: Array<{ call: string; reason: string }> }> {
  const { standingCalls, input } = await readSnapshot(sql, async (tx) => ({
    standingCalls: (await latestContestCalls(tx, electionId)).filter((c) => c.status === 'standing'),
    input: await readContestTotalsInput(tx, electionId, 'counted'),
  }))
  if (!input) return { standing: standingCalls.length, wrong: [] }
  const rules = new Map(input.contests.map((c) => [c.id, c]))
  const totals = new Map(contestTotals({ ...input, finished: true, calls: [], minCellBallots: 1 }).map((t) => [t.id, t]))
  const wrong: Array<{ call: string; reason: string }> = []
  for (const c of standingCalls) {
    const contest = rules.get(c.contestId)
    const described = `contest ${c.contestId}: ${c.selectionId ? `${c.selectionId} elected` : c.outcome}`
    if (!contest) {
      wrong.push({ call: described, reason: 'the contest is not in the definition' })
      continue
    }
    // A ranked contest's call is borne out by its final rounds, not by its first choices.
    const reason = contest.rcv
      ? rankedCallContradiction(c, contestRounds(contest, await runningRankings(sql, electionId, contest.id)))
      : contestCallContradiction(contest, c, new Map(Object.entries(totals.get(c.contestId)?.votes ?? {})))
    if (reason) wrong.push({ call: described, reason })
  }
  return { standing: standingCalls.length, wrong }
}

/**
 * Each ranked contest's rounds over its public rankings, and where those rankings differ
 * from a recount of the box's — and from the contest's own counts, which the counting
 * transaction wrote apart from the box: the first choices the rankings imply must be the
 * first choices counted.
 */
async function rankedContestEvidence(sql: Sql, electionId: string) {
  const { definition, input } = await readSnapshot(sql, async (tx) => ({
    definition: (await loadDefinitions(tx, [electionId])).get(electionId),
    input: await readContestTotalsInput(tx, electionId, 'counted'),
  }))
  const ranked = definition?.contests.filter((c) => c.rcv) ?? []
  if (ranked.length === 0 || !input) return []
  const totals = new Map(contestTotals({ ...input, finished: true, calls: [], minCellBallots: 1 }).map((t) => [t.id, t]))
  const out: NonNullable<Parameters<typeof checkCertification>[0]['rankedContests']> = []
  for (const contest of ranked) {
    // The public rankings (what the rounds served, the export and Grafana read), not the
    // running ones: those also hold rankings not yet released (rcv_rankings_held), and the
    // certified rounds must be the public ones, complete.
    const { published, recounted } = await readSnapshot(sql, async (tx) => ({
      published: await mixedRankings(tx, electionId, contest.id),
      recounted: await recountedRankings(tx, electionId, contest.id),
    }))
    const result = contestRounds(contest, published)
    const t = totals.get(contest.id)
    const counted = { ballots: t?.ballots ?? 0, undervotes: t?.undervotes ?? 0, overvotes: t?.overvotes ?? 0, votes: t?.votes ?? {} }
    out.push({
      contestId: contest.id,
      ballots: result.ballots,
      ranking: result.ballots - result.undervotes,
      rounds: result.rounds.length,
      elected: (result.rounds.at(-1)?.continuingVotes ?? 0) > 0 ? result.winner : null,
      differences: [...rankingDifferences(published, recounted), ...firstChoiceDifferences(firstChoicesOf(published), counted)],
    })
  }
  return out
}

export function createCertifyActivities({ sql, producer, tallyGroupId }: ActivityDeps) {
  const topic = TOPICS.votes.name
  return {
    /**
     * Runs the certification checklist against the evidence as it stands and records the
     * run: the ledger, a recount, the close marks, the log's gaps, turnout against the
     * roll, and the race calls. Reads only; the workflow decides what a failure means.
     */
    async checkCertification(electionId: string, options: { repaired: number }): Promise<CertificationCheck> {
      const ctx = Context.current()
      const election = await getElection(sql, electionId)
      const ledger = await messageLedger(sql, { groupId: tallyGroupId, topic })
      ctx.heartbeat('ledger')
      const differences = await findDifferences(sql, electionId)
      // Every contest recounted from the ballot box; a cell off the invariant counts as a difference too.
      const contests = await heartbeating(
        readSnapshot(sql, (tx) => recountContests(tx, electionId)),
        'recounting the contests',
      )
      ctx.heartbeat('recount')
      const turnout = await turnoutOverRoll(sql, electionId)
      ctx.heartbeat('turnout')
      const facts = await raceFacts(sql, electionId, tallyGroupId, topic)
      const votesIn = votesByScope(facts.votes, facts.candidates)
      const standing = (await latestCalls(sql, electionId)).filter((c) => c.status === 'standing')
      const wrongCalls = standing.flatMap((c) => {
        const reason = finalCountDisagreement(c, votesIn(c.regionId))
        return reason ? [{ call: `${c.regionId ? `region ${c.regionId}` : 'the election'}: ${c.candidateId}`, reason }] : []
      })
      const contestCalls = await wrongContestCalls(sql, electionId)
      const check = checkCertification(
        {
          ledger,
          // A style whose stored total is not its cells' sum: the snapshots showed something else.
          differences: differences.length + contests.differences.length + contests.unbalanced + contests.styleTotals.length,
          repaired: options.repaired,
          closeMarks: await closeMarks(sql, electionId, topic),
          stored: Object.fromEntries([...(await storedOffsets(sql, tallyGroupId, topic))].map(([p, o]) => [String(p), o])),
          gaps: await logGapsSince(sql, tallyGroupId, topic, election.openedAt ?? election.createdAt),
          overTurnout: turnout.over,
          regionsChecked: turnout.regionsChecked,
          wrongCalls: [...wrongCalls, ...contestCalls.wrong],
          standingCalls: standing.length + contestCalls.standing,
          retractedCalls: await retractedCalls(sql, electionId),
          rankedContests: await heartbeating(rankedContestEvidence(sql, electionId), 'recounting the ranked contests'),
          minCellBallots: election.minCellBallots,
          partitionsAtOpen: await votesPartitionsAtOpen(sql, electionId),
          votersOnTwoPartitions: await votersOnTwoPartitions(sql, electionId),
          adjudications: await adjudications(sql, electionId),
        },
        new Date(),
      )
      await recordCertificationCheck(sql, electionId, check)
      return check
    },

    /**
     * Certifies the counted result and publishes it. For a simulation it also stores
     * what the generator produced, so anyone can compare the count with the truth. The
     * workflow calls it only after a checklist run whose items all passed.
     */
    async certifyElection(electionId: string, options: { ballotsGenerated: number | null }) {
      const election = await getElection(sql, electionId)
      if (election.simulated && options.ballotsGenerated !== null) {
        const sim = new Simulation(await loadPlan(sql, electionId))
        await storeSimulationTruth(sql, electionId, sim.groundTruthByChannel(options.ballotsGenerated))
        if (sim.contests) {
          // A chunk at a time, yielding between chunks: one synchronous pass over a million
          // long ballots blocked the event loop past the heartbeat timeout, and each retry
          // started another pass beside the first.
          const ctx = Context.current()
          const truth = new Map<string, number>()
          const n = Math.min(options.ballotsGenerated, sim.ballotCount)
          for (let from = 0; from < n; from += 20_000) {
            sim.addContestTruth(from, Math.min(n, from + 20_000), truth)
            ctx.heartbeat(`contest truth: ballot ${from}`)
            await new Promise((r) => setImmediate(r))
          }
          await heartbeating(storeContestTruth(sql, electionId, truth), 'storing the contest truth')
        }
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
