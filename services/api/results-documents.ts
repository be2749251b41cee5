import type { ResultsSnapshot } from '../../domain/results.ts'
import { loadResults, resultsEtag, resultsVersion } from '../../lib/db/results.ts'
import type { Sql } from '../../lib/db/sql.ts'

/** One election's results document, serialised once for every reader of its version. */
export interface ResultsDocument {
  version: number
  etag: string
  body: string
  snapshot: ResultsSnapshot
}

/**
 * The results documents of this process: on election night thousands of readers ask for
 * the same document, and rebuilding it for each (every count row of the election summed,
 * then 75 KB of JSON) held one loopback client to 35 reads/s. Here each version is built
 * and serialised once: a reader within `freshMs` of the last check gets the document as it
 * is; after that, one cheap version query (results_version) decides whether the document
 * still stands; and concurrent readers of a changed election wait for one build, not one
 * each. A reader may so see a version up to `freshMs` old — the same as the SSE feed's poll.
 */
export function createResultsDocuments(
  sql: Sql,
  options: { minCellBallots?: number; freshMs?: number; maxElections?: number; now?: () => number } = {},
) {
  const { minCellBallots, freshMs = 200, maxElections = 200 } = options
  const now = options.now ?? (() => performance.now())
  const documents = new Map<string, { doc: ResultsDocument; checkedAt: number }>()
  const pending = new Map<string, Promise<ResultsDocument>>()

  async function refresh(electionId: string): Promise<ResultsDocument> {
    const cached = documents.get(electionId)
    const started = now()
    // An unknown election has no version: loadResults then answers 404 as every read does.
    const version = cached ? await resultsVersion(sql, electionId) : null
    if (cached && version !== null && String(cached.doc.version) === version) {
      cached.checkedAt = started
      return cached.doc
    }
    const snapshot = await loadResults(sql, electionId, { minCellBallots })
    const doc = { version: snapshot.version, etag: resultsEtag(snapshot), body: JSON.stringify(snapshot), snapshot }
    documents.delete(electionId)
    documents.set(electionId, { doc, checkedAt: started })
    // Least recently built first: the oldest goes when there are too many.
    if (documents.size > maxElections) {
      const oldest = documents.keys().next().value
      if (oldest !== undefined) documents.delete(oldest)
    }
    return doc
  }

  return {
    /** The current document of an election (throws not_found for an unknown one). */
    async current(electionId: string): Promise<ResultsDocument> {
      const cached = documents.get(electionId)
      if (cached && now() - cached.checkedAt < freshMs) return cached.doc
      let p = pending.get(electionId)
      if (!p) {
        p = refresh(electionId).finally(() => pending.delete(electionId))
        pending.set(electionId, p)
      }
      return p
    },
  }
}
export type ResultsDocuments = ReturnType<typeof createResultsDocuments>
