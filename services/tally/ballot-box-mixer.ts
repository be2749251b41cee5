import { mixBallotBox } from '../../lib/db/ballot-box.ts'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'

/**
 * Moves the ballots counted since the last time from the pending ballot box into the ballot
 * box, in random order under fresh random ids (see migration 0015): the window, not the
 * counting batch, is then the finest thing the ballot box can be sorted or joined by. A
 * window ends every `everySeconds`, or once this instance has boxed `everyBallots` since
 * its last move, or when counting pauses with a tenth of that boxed, whichever comes first:
 * windows stay large when ballots come fast, and what is read from the box (a ranked
 * contest's rounds) stays close to the count. Several tally instances may run it: one mix
 * runs at a time (mixBallotBox's lock), and an early one moves nothing under the floor.
 *
 * `mix` is the move itself (mixBallotBox by default): the pacing's tests give it a stand-in.
 */
export function startBallotBoxMixer(deps: {
  sql: Sql
  log: Logger
  everySeconds: number
  everyBallots: number
  /** The ranking ballots a contest's public rounds move by at least (mixBallotBox). */
  minRankingBallots?: number
  mix?: typeof mixBallotBox
}) {
  const move = deps.mix ?? mixBallotBox
  let running: Promise<void> | null = null
  let boxedSince = 0
  let lastAt = Date.now()
  let lastBoxedAt = 0
  /** A window ending on count or on a pause must hold at least this many (checked in SQL: other instances mix too). */
  const atLeastEarly = Math.ceil(deps.everyBallots / 10)
  const mix = (early: boolean) => {
    if (running) return
    const counted = boxedSince
    const floor = deps.minRankingBallots === undefined ? {} : { minRankingBallots: deps.minRankingBallots }
    running = move(deps.sql, early ? { atLeast: atLeastEarly, ...floor } : floor)
      .then((moved) => {
        // Reset only once the window moved (or a timed window ran): a skipped early mix keeps counting.
        if (moved > 0 || !early) {
          boxedSince = Math.max(0, boxedSince - counted)
          lastAt = Date.now()
        }
        if (moved > 0) deps.log.debug({ moved }, 'ballots moved into the ballot box')
      })
      .catch((err) => deps.log.error({ err }, 'could not move ballots into the ballot box; trying again at the next window'))
      .finally(() => {
        running = null
      })
  }
  // Checked every second: a window ends on time even when nothing else happens — or when
  // the counting has paused for two seconds with a tenth of a window boxed (the end of a
  // surge: its last ballots reach the box, and the rounds, in seconds, not at the next
  // timed window, and that window is still large).
  const every = setInterval(() => {
    const now = Date.now()
    if (now - lastAt >= deps.everySeconds * 1000) mix(false)
    else if (boxedSince >= atLeastEarly && now - lastBoxedAt >= 2000) mix(true)
  }, 1000)
  return {
    /** Ballots this instance just put into the pending box (committed). */
    boxed(n: number) {
      if (n <= 0) return
      boxedSince += n
      lastBoxedAt = Date.now()
      if (boxedSince >= deps.everyBallots) mix(true)
    },
    async stop() {
      clearInterval(every)
      await running
    },
  }
}
