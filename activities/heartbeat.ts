import { Context } from '@temporalio/activity'

/**
 * Awaits `work` while heartbeating every `everyMs`: a single statement (a recount of a
 * million ballots' marks) can outlast the activity's heartbeat timeout, and a timed-out
 * attempt is retried while the first still runs — two recounts, then three, for ever.
 * Outside an activity (a test calling the function directly) it only awaits.
 */
export async function heartbeating<T>(work: Promise<T>, detail: string, everyMs = 15_000): Promise<T> {
  let ctx: Context | undefined
  try {
    ctx = Context.current()
  } catch {
    return work
  }
  const timer = setInterval(() => ctx?.heartbeat(detail), everyMs)
  try {
    return await work
  } finally {
    clearInterval(timer)
  }
}
