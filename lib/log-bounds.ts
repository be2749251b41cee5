import type { LogGap } from './db/log-gaps.ts'

/**
 * Compares the stored offsets with the log's bounds: a log whose end lies below the stored
 * offset was re-created or truncated (what is written there now sits below the fence and
 * would be taken for redeliveries); a log whose start lies above it lost positions before
 * they were read (retention). Both are gaps.
 */
export function gapsAgainstLog(stored: Map<number, string>, log: Array<{ partition: number; low: string; high: string }>): LogGap[] {
  const gaps: LogGap[] = []
  for (const { partition, low, high } of log) {
    const at = stored.get(partition)
    if (at === undefined) continue
    if (BigInt(high) < BigInt(at)) {
      gaps.push({
        partition,
        from: high,
        to: at,
        kind: 'log_truncated',
        detail: `the log ends at ${high}, below the stored offset ${at}: the topic was re-created or truncated`,
      })
    } else if (BigInt(low) > BigInt(at)) {
      gaps.push({
        partition,
        from: at,
        to: low,
        kind: 'missing',
        detail: `the log starts at ${low}, above the stored offset ${at}: positions were deleted before they were read`,
      })
    }
  }
  return gaps
}
