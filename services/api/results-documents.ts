import type { ResultsSnapshot } from '../../domain/results.ts'
import { nextSnapshotAt } from '../../domain/snapshot-pacing.ts'
import { loadResults, resultsEtag, resultsVersion } from '../../lib/db/results.ts'
import type { Sql } from '../../lib/db/sql.ts'

/** One election's results document, serialised once for every reader of its version. */
export interface ResultsDocument {
  version: number
  etag: string
  body: string
  snapshot: ResultsSnapshot
}

interface Entry {
  doc: ResultsDocument
  /** When the document may next be checked against the database (performance.now() time). */
  nextCheckAt: number
  refreshing: Promise<void> | null
}

/**
 * The results documents of this process. On election night thousands of readers ask for
 * the same document, and rebuilding it for each (every count row of the election summed,
 * then the JSON) held one loopback client to 35 reads/s. Here each version is built and
 * serialised once, and readers never wait for a rebuild once a document exists: they get
 * the current one while one refresh (a cheap version query, then a build only if the
 * version moved) runs behind them. Refreshes are paced as the SSE feed paces snapshots
 * (domain/snapshot-pacing.ts): at most every `freshMs`, and a build that took B ms is not
 * followed by another for about 4·B, so readers cannot make the database rebuild a large
 * election back to back while it counts. A reader so sees a document at most one pacing
 * interval plus one build old; the SSE feed has the same bound.
 */
export function createResultsDocuments(
  sql: Sql,
  options: { minCellBallots?: number; freshMs?: number; maxElections?: number; now?: () => number; onError?: (err: unknown) => void } = {},
) {
  const { minCellBallots, freshMs = 200, maxElections = 200 } = options
  const now = options.now ?? (() => performance.now())
  const entries = new Map<string, Entry>()
  const first = new Map<string, Promise<ResultsDocument>>()

  async function build(electionId: string): Promise<{ doc: ResultsDocument; tookMs: number }> {
    const started = now()
    const snapshot = await loadResults(sql, electionId, { minCellBallots })
    return {
      doc: { version: snapshot.version, etag: resultsEtag(snapshot), body: JSON.stringify(snapshot), snapshot },
      tookMs: now() - started,
    }
  }

  function store(electionId: string, doc: ResultsDocument, tookMs: number): Entry {
    const entry: Entry = { doc, nextCheckAt: nextSnapshotAt(now(), tookMs, freshMs), refreshing: null }
    entries.delete(electionId)
    entries.set(electionId, entry)
    // Least recently built first: the oldest goes when there are too many.
    if (entries.size > maxElections) {
      const oldest = entries.keys().next().value
      if (oldest !== undefined) entries.delete(oldest)
    }
    return entry
  }

  async function refresh(electionId: string, entry: Entry): Promise<void> {
    try {
      const version = await resultsVersion(sql, electionId)
      if (version !== null && String(entry.doc.version) === version) {
        entry.nextCheckAt = now() + freshMs
        return
      }
      const { doc, tookMs } = await build(electionId)
      store(electionId, doc, tookMs)
    } catch (err) {
      // The document in hand stays served; the next reader after the interval tries again.
      entry.nextCheckAt = now() + freshMs
      options.onError?.(err)
    } finally {
      entry.refreshing = null
    }
  }

  return {
    /** The current document of an election (throws not_found for an unknown one). */
    async current(electionId: string): Promise<ResultsDocument> {
      const entry = entries.get(electionId)
      if (entry) {
        if (!entry.refreshing && now() >= entry.nextCheckAt) entry.refreshing = refresh(electionId, entry)
        return entry.doc
      }
      // No document yet: the first readers wait for one build between them.
      let pending = first.get(electionId)
      if (!pending) {
        pending = build(electionId)
          .then(({ doc, tookMs }) => store(electionId, doc, tookMs).doc)
          .finally(() => first.delete(electionId))
        first.set(electionId, pending)
      }
      return pending
    },
  }
}
export type ResultsDocuments = ReturnType<typeof createResultsDocuments>
