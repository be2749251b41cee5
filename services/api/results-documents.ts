import { AppError } from '../../domain/errors.ts'
import type { ResultsSnapshot } from '../../domain/results.ts'
import { nextSnapshotAt } from '../../domain/snapshot-pacing.ts'
import { loadResults, resultsEtag, resultsVersion } from '../../lib/db/results.ts'
import type { Sql } from '../../lib/db/sql.ts'

/** One election's document at one results version, serialised once for every reader of it. */
export interface VersionedDocument<T> {
  version: number
  etag: string
  body: string
  value: T
}
export type ResultsDocument = VersionedDocument<ResultsSnapshot>

export interface DocumentOptions {
  /** How long a document is served before it is checked against results_version again. */
  freshMs?: number
  /** Documents kept at most (one per election; the least recently built goes first). */
  maxElections?: number
  /**
   * A document last known current longer ago than this is checked before it is served (the
   * reader waits for the check); a younger one is served at once while the check runs
   * behind. Busy documents are served without waiting; one read after a quiet spell is not
   * handed a document of an hour ago.
   */
  staleMs?: number
  now?: () => number
  onError?: (err: unknown) => void
}

interface Entry<T> {
  doc: VersionedDocument<T>
  /** When the document was last known current (built, or its version checked). */
  checkedAt: number
  /** When the document may next be checked against the database (performance.now() time). */
  nextCheckAt: number
  refreshing: Promise<void> | null
  /** Builds in a row that came back with a lower version than the document's. */
  lowerBuilds?: number
}

/**
 * The results snapshot of each election as a shared document (see createVersionedDocuments):
 * `GET /elections/{id}/results` and the first event of every results stream.
 */
export function createResultsDocuments(sql: Sql, options: DocumentOptions & { primary?: Sql } = {}) {
  const load = (db: Sql, electionId: string) => loadResults(db, electionId)
  return createVersionedDocuments<ResultsSnapshot>(sql, options, async (electionId) => {
    // An election created a moment ago may not have reached the standby: a miss there is
    // asked of the primary (misses are rare and cheap), so that a stream opened right after
    // POST /elections is not a 404.
    const snapshot = await load(sql, electionId).catch((err) => {
      if (err instanceof AppError && err.code === 'not_found' && options.primary && options.primary !== sql)
        return load(options.primary, electionId)
      throw err
    })
    return { version: snapshot.version, etag: resultsEtag(snapshot), body: JSON.stringify(snapshot), value: snapshot }
  })
}
export type ResultsDocuments = ReturnType<typeof createResultsDocuments>

/**
 * Documents built from an election's results, one per election and version. On election
 * night thousands of readers ask for the same document, and rebuilding it for each (every
 * count row of the election summed, then the JSON) held one loopback client to 35 reads/s.
 * Here each version is built and serialised once, and readers never wait for a rebuild once
 * a document exists: they get the current one while one refresh (a cheap version query,
 * results_version, then a build only if the version moved) runs behind them. Refreshes are
 * paced as the SSE feed paces snapshots (domain/snapshot-pacing.ts): at most every
 * `freshMs`, and a build that took B ms is not followed by another for about 4·B, so
 * readers cannot make the database rebuild a large election back to back while it counts.
 * A reader so sees a document at most one pacing interval plus one build old; the SSE feed
 * has the same bound.
 */
export function createVersionedDocuments<T>(
  sql: Sql,
  options: DocumentOptions,
  buildDocument: (electionId: string) => Promise<VersionedDocument<T>>,
) {
  const { freshMs = 200, maxElections = 200, staleMs = 1000 } = options
  const now = options.now ?? (() => performance.now())
  const entries = new Map<string, Entry<T>>()
  const first = new Map<string, Promise<VersionedDocument<T>>>()

  async function build(electionId: string): Promise<{ doc: VersionedDocument<T>; tookMs: number }> {
    const started = now()
    const doc = await buildDocument(electionId)
    return { doc, tookMs: now() - started }
  }

  function store(electionId: string, doc: VersionedDocument<T>, tookMs: number): Entry<T> {
    const entry: Entry<T> = { doc, checkedAt: now(), nextCheckAt: nextSnapshotAt(now(), tookMs, freshMs), refreshing: null }
    entries.delete(electionId)
    entries.set(electionId, entry)
    if (entries.size > maxElections) {
      const oldest = entries.keys().next().value
      if (oldest !== undefined) entries.delete(oldest)
    }
    return entry
  }

  async function refresh(electionId: string, entry: Entry<T>): Promise<void> {
    try {
      const version = await resultsVersion(sql, electionId)
      if (version !== null && String(entry.doc.version) === version) {
        entry.checkedAt = now()
        entry.nextCheckAt = now() + freshMs
        return
      }
      if (version === null) {
        // The election is gone (a benchmark's, purged): its document goes too.
        entries.delete(electionId)
        return
      }
      const { doc, tookMs } = await build(electionId)
      // Versions only grow: a build that met a replica further behind (several standbys behind
      // one address) does not replace a newer document; the next check, paced by what the
      // build cost, tries again. Three lower builds in a row are the database's truth (a
      // failover to a replica that had not replayed as far, a restore): taken, not fought.
      entry.lowerBuilds = doc.version < entry.doc.version ? (entry.lowerBuilds ?? 0) + 1 : 0
      if (entry.lowerBuilds > 0 && entry.lowerBuilds < 3) entry.nextCheckAt = nextSnapshotAt(now(), tookMs, freshMs)
      else store(electionId, doc, tookMs)
    } catch (err) {
      // The document in hand stays served; the next reader after the interval tries again.
      entry.nextCheckAt = now() + freshMs
      options.onError?.(err)
    } finally {
      entry.refreshing = null
    }
  }

  return {
    /**
     * The current document of an election (throws what the build throws, e.g. not_found, when
     * there is none yet). `fresh`: always check the version first (a results stream's first
     * event, which the feed will not send again).
     */
    async current(electionId: string, options: { fresh?: boolean } = {}): Promise<VersionedDocument<T>> {
      const entry = entries.get(electionId)
      if (entry) {
        const due = now() >= entry.nextCheckAt
        if (!entry.refreshing && (due || options.fresh)) entry.refreshing = refresh(electionId, entry)
        if (entry.refreshing && (options.fresh || now() - entry.checkedAt > staleMs)) {
          await entry.refreshing
          return entries.get(electionId)?.doc ?? entry.doc
        }
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
