import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { ResultsSnapshot } from '../../domain/results.ts'
import type { Logger } from '../../lib/log.ts'
import type { ConnectionLimiter } from './limits/connection-limiter.ts'
import { problem } from './problems.ts'
import type { ResultsFeed } from './results-feed.ts'

export interface StreamLimits {
  connections: ConnectionLimiter
  /** A client that has not taken a snapshot for this long has stopped reading: it is dropped. */
  stalledClientMs: number
  /** How often a comment line keeps the connection (and any proxy) from timing out. */
  keepAliveMs: number
}

/**
 * One `results` event per snapshot, serialised and encoded once however many streams send
 * it: the feed hands every follower of an election the same snapshot object, and at
 * thousands of followers a stringify and an encode each would be most of the API's work.
 */
const frames = new WeakMap<ResultsSnapshot, Uint8Array>()
const encoder = new TextEncoder()
export function resultsFrame(s: ResultsSnapshot): Uint8Array {
  let frame = frames.get(s)
  if (!frame) {
    // As hono's writeSSE writes it: JSON has no line breaks, so one data line.
    frame = encoder.encode(`event: results\nid: ${s.version}\ndata: ${JSON.stringify(s)}\n\n`)
    frames.set(s, frame)
  }
  return frame
}

/**
 * Streams an election's results as server-sent events, within the limits: a slot of the
 * connection limiter for as long as it lasts, at most one write in flight (a newer
 * snapshot replaces one not yet sent, since snapshots are state, not events), and a client
 * that stops reading is dropped instead of making the server buffer for it.
 */
export async function streamResults(
  c: Context,
  deps: {
    electionId: string
    client: string
    /** The snapshot to start with, loaded only once the connection has its slot: a refused one costs no read. */
    first: () => Promise<ResultsSnapshot>
    feed: ResultsFeed
    limits: StreamLimits
    log: Logger
  },
) {
  const slot = deps.limits.connections.acquire(deps.client)
  if ('refused' in slot) {
    c.header('Retry-After', '5')
    return slot.refused === 'total'
      ? problem(c, 503, 'unavailable', 'the server follows as many result streams as it can; retry shortly')
      : problem(c, 429, 'too_many_requests', 'this address already follows as many result streams as it may')
  }
  let first: ResultsSnapshot
  try {
    first = await deps.first()
  } catch (err) {
    slot.release()
    throw err
  }
  return streamSSE(c, async (stream) => {
    let latest = first
    let sentVersion = -1
    let keepAlive = false
    let writingSince = 0

    const flush = async () => {
      if (writingSince) return
      try {
        for (;;) {
          if (latest.version > sentVersion) {
            const s = latest
            writingSince = Date.now()
            await stream.write(resultsFrame(s))
            sentVersion = s.version
          } else if (keepAlive) {
            keepAlive = false
            writingSince = Date.now()
            await stream.write(': keep-alive\n\n')
          } else return
        }
      } finally {
        writingSince = 0
      }
    }
    const offer = (s: ResultsSnapshot) => {
      if (s.version > latest.version) latest = s
      void flush()
    }

    const unsubscribe = deps.feed.subscribe(deps.electionId, offer)
    stream.onAbort(() => {
      unsubscribe()
      slot.release()
    })
    try {
      void flush()
      let sinceKeepAlive = 0
      const tick = Math.min(1000, deps.limits.keepAliveMs)
      while (!stream.aborted && !stream.closed) {
        await stream.sleep(tick)
        if (writingSince && Date.now() - writingSince > deps.limits.stalledClientMs) {
          deps.log.info({ electionId: deps.electionId, client: deps.client }, 'results stream dropped: the client stopped reading')
          stream.abort()
          break
        }
        sinceKeepAlive += tick
        if (sinceKeepAlive >= deps.limits.keepAliveMs) {
          sinceKeepAlive = 0
          keepAlive = true
          void flush()
        }
      }
    } finally {
      unsubscribe()
      slot.release()
    }
  })
}
