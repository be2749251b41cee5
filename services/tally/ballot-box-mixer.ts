import { mixBallotBox } from '../../lib/db/ballot-box.ts'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'

/**
 * Moves the ballots counted since the last time from the pending ballot box into the ballot
 * box, in random order under fresh random ids (see migration 0015): the window, not the
 * counting batch, is then the finest thing the ballot box can be sorted or joined by. A
 * window ends every `everySeconds`, or once this instance has counted `everyBallots` since
 * its last move, or when counting pauses with a tenth of that pending, whichever comes first: windows stay large when ballots come fast, and
 * what is read from the box (a ranked contest's rounds) stays close to the count. Several
 * tally instances may run it: the move is one transaction, and a second mixer finds the
 * rows gone.
 */
export function startBallotBoxMixer(deps: { sql: Sql; log: Logger; everySeconds: number; everyBallots: number }) {
  let running: Promise<void> | null = null
  let countedSince = 0
  let lastAt = Date.now()
  let lastCountedAt = 0
  const mix = () => {
    countedSince = 0
    lastAt = Date.now()
    running ??= mixBallotBox(deps.sql)
      .then((moved) => {
        if (moved > 0) deps.log.debug({ moved }, 'ballots moved into the ballot box')
      })
      .catch((err) => deps.log.error({ err }, 'could not move ballots into the ballot box; trying again at the next window'))
      .finally(() => {
        running = null
      })
  }
  // Checked every second: a window ends on time even when nothing else happens — or when
  // the counting has paused for two seconds with a tenth of a window pending (the end of a
  // surge: its last ballots reach the box, and the rounds, in seconds, not at the next
  // timed window, and that window is still large).
  const every = setInterval(() => {
    const now = Date.now()
    if (now - lastAt >= deps.everySeconds * 1000) mix()
    else if (countedSince >= deps.everyBallots / 10 && now - lastCountedAt >= 2000 && running === null) mix()
  }, 1000)
  return {
    /** Ballots this instance just counted (committed). */
    counted(n: number) {
      countedSince += n
      if (n > 0) lastCountedAt = Date.now()
      if (countedSince >= deps.everyBallots && running === null) mix()
    },
    async stop() {
      clearInterval(every)
      await running
    },
  }
}
