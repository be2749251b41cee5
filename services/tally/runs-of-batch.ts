import type { ConsumedMessage } from '../../lib/counting/count-batch.ts'

/** What the tally needs of a kafkajs batch (its `Batch` class). */
export interface FetchedBatch {
  partition: number
  /** The messages handed over: transaction markers and aborted records filtered out. */
  messages: Array<{ offset: string; value: Buffer | null; headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined> }>
  /** The first position the fetch returned at or after the fetched offset, markers included; null if none. */
  firstOffset(): string | null
  /** The last position the fetch returned, markers and aborted records included. */
  lastOffset(): string
}

/**
 * Cuts one fetched batch into runs of at most `max` entries, each covering a contiguous
 * range of positions. Positions the broker returned but kafkajs filtered out (a
 * transaction's commit or abort marker, the records of an aborted transaction) become
 * entries with `skippedThrough`, so the fence passes them: a marker at the tail of a
 * partition no longer holds the close one position short for ever. A batch of nothing but
 * such records (kafkajs hands it over with our patch, see patches/) is one run of skips.
 */
export function runsOfBatch(batch: FetchedBatch, max: number): Array<{ entries: ConsumedMessage[]; through: string }> {
  const first = batch.firstOffset()
  if (first === null) return []
  const last = batch.lastOffset()
  const runs: Array<{ entries: ConsumedMessage[]; through: string }> = []
  let entries: ConsumedMessage[] = []
  let expected = Number(first)
  const skipTo = (offset: number) => {
    if (offset > expected)
      entries.push({ partition: batch.partition, offset: String(expected), value: null, skippedThrough: String(offset - 1) })
  }
  for (const m of batch.messages) {
    const at = Number(m.offset)
    skipTo(at)
    const header = m.headers?.['election-id']
    entries.push({ partition: batch.partition, offset: m.offset, value: m.value, electionHeader: header?.toString() })
    expected = at + 1
    if (entries.length >= max) {
      runs.push({ entries, through: m.offset })
      entries = []
    }
  }
  skipTo(Number(last) + 1)
  if (entries.length > 0) runs.push({ entries, through: last })
  return runs
}
