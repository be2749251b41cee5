import { Context } from '@temporalio/activity'
import { setElectionStatus } from '../lib/db/elections.ts'
import { recordedCounts } from '../lib/db/results.ts'
import { TOPICS } from '../lib/local-stack.ts'
import type { ActivityDeps } from './deps.ts'

export function createCountingActivities({ sql, admin, tallyGroupId }: ActivityDeps) {
  return {
    /**
     * Closes the polls: ballots cast from now on are rejected. Returns the high-water
     * mark of every `votes` partition: everything produced so far lies below it.
     */
    async closePolls(electionId: string, produced: number | null): Promise<Record<string, string>> {
      await sql.begin(async (tx) => {
        await setElectionStatus(tx, electionId, 'closing')
        if (produced !== null) await tx`update elections set produced_ballots = ${produced} where id = ${electionId}`
      })
      const offsets = await admin.fetchTopicOffsets(TOPICS.votes.name)
      return Object.fromEntries(offsets.map((o) => [String(o.partition), o.high]))
    },

    /**
     * Waits until the tally service's committed offsets have reached the high-water mark
     * of every partition: then every ballot produced before closing is counted or rejected.
     */
    async waitUntilCounted(electionId: string, highWater: Record<string, string>): Promise<{ counted: number; rejected: number }> {
      const ctx = Context.current()
      for (;;) {
        const rows = await sql<{ partition: number; nextOffset: string }[]>`
          select partition, next_offset::text from consumer_offsets where group_id = ${tallyGroupId} and topic = ${TOPICS.votes.name}`
        const reached = new Map(rows.map((r) => [String(r.partition), BigInt(r.nextOffset)]))
        const behind = Object.entries(highWater).filter(([p, high]) => BigInt(high) > 0n && (reached.get(p) ?? 0n) < BigInt(high))
        if (behind.length === 0) break
        ctx.heartbeat({ behind: behind.map(([p, high]) => ({ partition: p, high, at: String(reached.get(p) ?? 0n) })) })
        await ctx.sleep(250)
      }
      return recordedCounts(sql, electionId)
    },

    async finishCounting(electionId: string): Promise<void> {
      await setElectionStatus(sql, electionId, 'closed')
    },
  }
}
