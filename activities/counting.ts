import { Context } from '@temporalio/activity'
import { storedOffsets } from '../lib/db/counting.ts'
import { setElectionStatus } from '../lib/db/elections.ts'
import { recordLogGaps } from '../lib/db/log-gaps.ts'
import { closeMarks, lockElection, storeCloseMarks } from '../lib/db/polls.ts'
import { recordedCounts } from '../lib/db/results.ts'
import { TOPICS } from '../lib/local-stack.ts'
import { gapsAgainstLog } from '../lib/log-bounds.ts'
import { publishOutbox } from '../lib/outbox.ts'
import type { ActivityDeps } from './deps.ts'

export function createCountingActivities({ sql, admin, producer, tallyGroupId }: ActivityDeps) {
  const topic = TOPICS.votes.name
  return {
    /**
     * Closes the polls. What is "before the close" is decided by the log, not by the
     * producer's `castAt`: the end of every `votes` partition is taken while the
     * election's row is locked (no batch of it is being counted), and stored with the
     * status change. A ballot below its partition's mark counts; one above is rejected as
     * `election_not_open`. Ballots the API accepted (202) are published from the outbox
     * first, under the same lock, so every one of them lies below the marks. Returns the
     * marks; a retry returns the ones already stored.
     */
    async closePolls(electionId: string, produced: number | null): Promise<Record<string, string>> {
      return sql.begin(async (tx) => {
        await lockElection(tx, electionId)
        const stored = await closeMarks(tx, electionId, topic)
        if (stored) return stored
        let published: number
        do published = await publishOutbox(tx, producer, { electionId, skipLocked: false })
        while (published > 0)
        const offsets = await admin.fetchTopicOffsets(topic)
        const marks = Object.fromEntries(offsets.map((o) => [String(o.partition), o.high]))
        // A log that ends below what was counted (re-created) or starts above it (retention)
        // is a gap: recorded here too, so certification sees it even if no tally does.
        await recordLogGaps(tx, tallyGroupId, topic, gapsAgainstLog(await storedOffsets(tx, tallyGroupId, topic), offsets))
        await setElectionStatus(tx, electionId, 'closing')
        await storeCloseMarks(tx, electionId, topic, marks, produced)
        return marks
      })
    },

    /**
     * Waits until the tally service's committed offsets have reached the high-water mark
     * of every partition: then every message that reached the log before the close is
     * accounted for (counted, rejected or a recorded duplicate).
     */
    async waitUntilCounted(electionId: string, highWater: Record<string, string>): Promise<{ counted: number; rejected: number }> {
      const ctx = Context.current()
      const lost = new Set<string>()
      for (let round = 0; ; round++) {
        const reached = await storedOffsets(sql, tallyGroupId, topic)
        const at = (p: string) => BigInt(reached.get(Number(p)) ?? '0')
        const behind = Object.entries(highWater).filter(([p, high]) => BigInt(high) > 0n && at(p) < BigInt(high) && !lost.has(p))
        if (behind.length === 0) break
        ctx.heartbeat({ behind: behind.map(([p, high]) => ({ partition: p, high, at: String(at(p)) })) })
        // Positions deleted before the tally read them can never be counted: every few
        // seconds the log's start is compared with what was counted, and such a partition
        // is recorded as a gap (certification then fails on it) instead of waited for.
        if (round % 20 === 19) {
          const gaps = gapsAgainstLog(reached, await admin.fetchTopicOffsets(topic)).filter((g) => g.kind === 'missing')
          await recordLogGaps(sql, tallyGroupId, topic, gaps)
          for (const g of gaps) lost.add(String(g.partition))
        }
        await ctx.sleep(250)
      }
      return recordedCounts(sql, electionId)
    },

    async finishCounting(electionId: string): Promise<void> {
      await setElectionStatus(sql, electionId, 'closed')
    },
  }
}
