import { takeTallyPresence } from '../../lib/db/migrate.ts'
import { createSql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'

/**
 * This instance's share of the tallies' presence lock (lib/db/migrate.ts
 * TALLY_PRESENCE_LOCK), held on a session of its own for the process's life, so that a
 * migration that needs the tallies stopped sees it however its sessions are named. Taken
 * again every few seconds where the session was replaced (a database restart ends it).
 * Waits, at start, for such a migration in progress.
 */
export async function holdTallyPresence(url: string, log: Logger, everyMs = 5_000) {
  const db = createSql(url, { max: 1, applicationName: `votestream-tally ${process.pid} presence` })
  await takeTallyPresence(db)
  let taking: Promise<void> | null = null
  const timer = setInterval(() => {
    if (taking) return
    taking = takeTallyPresence(db)
      .catch((err) => log.warn({ err }, "could not take the tallies' presence lock again; trying at the next tick"))
      .finally(() => {
        taking = null
      })
  }, everyMs)
  return {
    async stop() {
      clearInterval(timer)
      await taking
      await db.end({ timeout: 5 })
    },
  }
}
