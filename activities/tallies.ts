import { log } from '@temporalio/activity'
import type { ReconciliationReport } from '../domain/reconciliation.ts'
import { mixBallotBox } from '../lib/db/ballot-box.ts'
import { rebuildStyleTotals, recountContests } from '../lib/db/contest-recount.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { type ContestRecount, type Difference, findDifferences, recordReconciliation, repairDifferences } from '../lib/db/reconciliation.ts'
import { readSnapshot } from '../lib/db/sql.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'
import { heartbeating } from './heartbeat.ts'

/** The report (domain/reconciliation.ts) with its row id and, for elections with contests, the recount of every contest and the invariant per cell. */
export type ReconcileResult = ReconciliationReport & { id: number; contests: ContestRecount | null }

export function createTallyActivities({ sql, tallyGroupId }: ActivityDeps) {
  return {
    /**
     * The batch recount: compares the streaming tallies with a recount of the raw
     * ballots, repairs any drift, and stores a report (with the message ledger) and a
     * trend snapshot.
     */
    async reconcileElection(electionId: string, options: { final: boolean }): Promise<ReconcileResult> {
      let differences: Difference[] = await findDifferences(sql, electionId)
      if (differences.length > 0) differences = await repairDifferences(sql, electionId)
      let repaired = differences.length > 0
      // Before the final recount, the last window goes into the ballot box: what is certified is all mixed.
      if (options.final) await mixBallotBox(sql, { wait: true, finalElection: electionId })
      const recount = await heartbeating(
        readSnapshot(sql, (tx) => recountContests(tx, electionId, { fromBallotBox: options.final })),
        'recounting the contests',
      )
      // Style totals apart from their cells (what the snapshot and the race calls read): rebuilt
      // from the cells, loudly; the report keeps what was found.
      if (recount.styleTotals.length > 0 || recount.releasedStyleTotals.length > 0) {
        log.error('style totals disagreed with their cells; rebuilt from them', {
          electionId,
          counted: recount.styleTotals,
          released: recount.releasedStyleTotals,
        })
        await rebuildStyleTotals(sql, electionId)
        repaired = true
      }
      const contests = recount.cells > 0 || recount.differences.length > 0 ? recount : null
      // The ledger scans every row ever recorded: taken at certification, not every few seconds.
      const ledger = options.final ? await messageLedger(sql, { groupId: tallyGroupId, topic: TOPICS.votes.name }) : null
      const recorded = await recordReconciliation(sql, {
        electionId,
        final: options.final,
        differences,
        repaired,
        ledger,
        contests,
      })
      return {
        id: recorded.id,
        electionId,
        ranAt: recorded.ranAt.toISOString(),
        final: options.final,
        ballots: recorded.ballots,
        tallied: recorded.tallied,
        differences,
        repaired,
        verdict: repaired ? 'repaired' : 'match',
        ledger,
        ledgerBalanced: recorded.ledgerBalanced,
        contests,
      }
    },
  }
}
