import { mixBallotBox } from '../../lib/db/ballot-box.ts'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'

/**
 * Every `everySeconds`, moves the ballots counted since the last time from the pending
 * ballot box into the ballot box, in random order under fresh random ids (see migration
 * 0015): the window, not the counting batch, is then the finest thing the ballot box can
 * be sorted or joined by. Several tally instances may run it: the move is one transaction,
 * and a second mixer finds the rows gone.
 */
export function startBallotBoxMixer(deps: { sql: Sql; log: Logger; everySeconds: number }) {
  let running: Promise<void> | null = null
  const tick = () => {
    running ??= mixBallotBox(deps.sql)
      .then((moved) => {
        if (moved > 0) deps.log.debug({ moved }, 'ballots moved into the ballot box')
      })
      .catch((err) => deps.log.error({ err }, 'could not move ballots into the ballot box; trying again at the next window'))
      .finally(() => {
        running = null
      })
  }
  const every = setInterval(tick, deps.everySeconds * 1000)
  return {
    async stop() {
      clearInterval(every)
      await running
    },
  }
}
