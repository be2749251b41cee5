import { purgeRejectedRaw } from '../../lib/db/rejected-raw.ts'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'

const EVERY_MS = 60 * 60 * 1000
const FIRST_AFTER_MS = 30_000
const ROWS_PER_TRANSACTION = 5_000

/**
 * Keeps rejected messages' raw bytes only as long as they are evidence (see migration
 * 0014): every hour, and once shortly after start, their bytes give way to a hash and a
 * size, a few thousand rows per transaction so that counting never waits long on it.
 */
export function startRawRetention(deps: { sql: Sql; log: Logger; keepDays: number }) {
  let running: Promise<void> | null = null
  let stopped = false
  const run = async () => {
    let purged = 0
    for (;;) {
      if (stopped) break
      const n = await purgeRejectedRaw(deps.sql, { keepDays: deps.keepDays, limit: ROWS_PER_TRANSACTION })
      purged += n
      if (n < ROWS_PER_TRANSACTION) break
    }
    if (purged > 0) deps.log.info({ purged, keepDays: deps.keepDays }, "rejected messages' raw bytes replaced by their hash and size")
  }
  const tick = () => {
    running ??= run()
      .catch((err) => deps.log.error({ err }, "could not purge rejected messages' raw bytes; trying again later"))
      .finally(() => {
        running = null
      })
  }
  const first = setTimeout(tick, FIRST_AFTER_MS)
  const every = setInterval(tick, EVERY_MS)
  return {
    async stop() {
      stopped = true
      clearTimeout(first)
      clearInterval(every)
      await running
    },
  }
}
