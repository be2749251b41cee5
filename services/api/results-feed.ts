import type { ResultsSnapshot } from '../../domain/results.ts'
import { nextSnapshotAt } from '../../domain/snapshot-pacing.ts'
import { loadResults, resultsVersion } from '../../lib/db/results.ts'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'

type Listener = (snapshot: ResultsSnapshot) => void

/**
 * One poller per election in this process, however many clients follow it: a cheap
 * query every interval, and a full snapshot only when something changed, paced by what
 * the last one cost (domain/snapshot-pacing.ts), as the tally's publisher is.
 */
export function createResultsFeed(sql: Sql, log: Logger, options: { intervalMs?: number } = {}) {
  const { intervalMs = 200 } = options
  const feeds = new Map<
    string,
    {
      listeners: Set<Listener>
      marker: string
      timer: ReturnType<typeof setInterval>
      busy: boolean
      nextAt: number
      /** The last snapshot sent: a follower who joins late gets it (a stream keeps the newest it is offered). */
      last: ResultsSnapshot | null
      /** Snapshots in a row older than the last one sent. */
      lowerSnapshots: number
    }
  >()

  async function tick(electionId: string) {
    const feed = feeds.get(electionId)
    if (!feed || feed.busy || Date.now() < feed.nextAt) return
    feed.busy = true
    try {
      const marker = await resultsVersion(sql, electionId)
      if (marker !== null && marker !== feed.marker) {
        const started = Date.now()
        const snapshot = await loadResults(sql, electionId)
        // Less one interval: the poll's own timer already waits that long.
        feed.nextAt = nextSnapshotAt(Date.now(), Date.now() - started, intervalMs) - intervalMs
        // The marker is the version the snapshot has, not the one the probe saw: behind a
        // pool of standbys the two reads may meet replicas at different points, and a snapshot
        // older than the probe must be built again, not taken for the probe's version for ever.
        feed.marker = String(snapshot.version)
        // Versions only grow (a follower drops an older one): an older replica's snapshot is
        // not sent, unless three in a row say so (a failover or a restore: the database's truth).
        feed.lowerSnapshots = feed.last && snapshot.version < feed.last.version ? feed.lowerSnapshots + 1 : 0
        if (feed.lowerSnapshots > 0 && feed.lowerSnapshots < 3) return
        feed.last = snapshot
        for (const l of feed.listeners) l(snapshot)
      }
    } catch (err) {
      log.warn({ err, electionId }, 'results feed poll failed')
    } finally {
      feed.busy = false
    }
  }

  return {
    subscribe(electionId: string, listener: Listener): () => void {
      let feed = feeds.get(electionId)
      if (!feed) {
        feed = {
          listeners: new Set(),
          marker: '',
          timer: setInterval(() => void tick(electionId), intervalMs),
          busy: false,
          nextAt: 0,
          last: null,
          lowerSnapshots: 0,
        }
        feeds.set(electionId, feed)
      }
      feed.listeners.add(listener)
      // A version the feed sent before this follower joined is not sent again: hand it over now.
      const last = feed.last
      if (last) queueMicrotask(() => listener(last))
      return () => {
        feed.listeners.delete(listener)
        if (feed.listeners.size === 0) {
          clearInterval(feed.timer)
          feeds.delete(electionId)
        }
      }
    },
    close() {
      for (const f of feeds.values()) clearInterval(f.timer)
      feeds.clear()
    },
  }
}
export type ResultsFeed = ReturnType<typeof createResultsFeed>
