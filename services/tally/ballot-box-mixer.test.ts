import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Sql } from '../../lib/db/sql.ts'
import { createLogger } from '../../lib/log.ts'
import { startBallotBoxMixer } from './ballot-box-mixer.ts'

/**
 * When the ballot box's windows end (the move itself is tested against PostgreSQL in
 * test/ranked-choice.test.ts and test/contests.test.ts): on time, on count, or at a pause
 * with a tenth of a window boxed — never two moves at once, never an early one without its
 * floor, and a skipped early move does not forget the ballots it left pending.
 */

interface Call {
  atLeast?: number
  resolve: (moved: number) => void
}

function harness(options: { everySeconds?: number; everyBallots?: number } = {}) {
  const calls: Call[] = []
  const mixer = startBallotBoxMixer({
    sql: {} as Sql,
    log: createLogger('mixer-test', 'silent'),
    everySeconds: options.everySeconds ?? 60,
    everyBallots: options.everyBallots ?? 1_000,
    mix: (_sql, o = {}) =>
      new Promise<number>((resolve) => {
        calls.push({ atLeast: o.atLeast, resolve })
      }),
  })
  return { calls, mixer }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the ballot box mixer', () => {
  it('ends a window on time, whatever is pending (a trickle still reaches the box)', async () => {
    const { calls, mixer } = harness({ everySeconds: 60 })
    mixer.boxed(3)
    await vi.advanceTimersByTimeAsync(59_000)
    expect(calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(calls.map((c) => c.atLeast)).toEqual([undefined])
    calls[0]?.resolve(3)
    await settle()
    await mixer.stop()
  })

  it('ends a window once a window of ballots is boxed, with the floor checked by the move', async () => {
    const { calls, mixer } = harness({ everyBallots: 1_000 })
    mixer.boxed(600)
    expect(calls).toHaveLength(0)
    mixer.boxed(400)
    expect(calls.map((c) => c.atLeast)).toEqual([100])
    // While a move runs, no second one starts, however much is boxed.
    mixer.boxed(5_000)
    await vi.advanceTimersByTimeAsync(3_000)
    expect(calls).toHaveLength(1)
    calls[0]?.resolve(1_000)
    await settle()
    await mixer.stop()
  })

  it('ends a window when counting pauses 2 s with a tenth of a window boxed, not with less', async () => {
    const { calls, mixer } = harness({ everyBallots: 1_000 })
    mixer.boxed(99)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(calls).toHaveLength(0)
    mixer.boxed(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(calls.map((c) => c.atLeast)).toEqual([100])
    calls[0]?.resolve(100)
    await settle()
    await mixer.stop()
  })

  it('keeps counting after an early move found too little pending (another instance took it), and retries', async () => {
    const { calls, mixer } = harness({ everyBallots: 1_000 })
    mixer.boxed(1_000)
    calls[0]?.resolve(0)
    await settle()
    // Nothing was reset: the next boxed ballots try again at once.
    mixer.boxed(1)
    expect(calls).toHaveLength(2)
    calls[1]?.resolve(1_001)
    await settle()
    // Now the window moved: a few more ballots start nothing.
    mixer.boxed(10)
    expect(calls).toHaveLength(2)
    await mixer.stop()
  })

  it('goes on after a failed move, and waits for a move in progress when stopped', async () => {
    const calls: Array<(v: number) => void> = []
    const failures: Array<(e: Error) => void> = []
    const mixer = startBallotBoxMixer({
      sql: {} as Sql,
      log: createLogger('mixer-test', 'silent'),
      everySeconds: 60,
      everyBallots: 10,
      mix: () =>
        new Promise<number>((resolve, reject) => {
          calls.push(resolve)
          failures.push(reject)
        }),
    })
    mixer.boxed(10)
    failures[0]?.(new Error('database down'))
    await settle()
    mixer.boxed(10)
    expect(calls).toHaveLength(2)
    let stopped = false
    const stopping = mixer.stop().then(() => {
      stopped = true
    })
    await settle()
    expect(stopped).toBe(false)
    calls[1]?.(20)
    await stopping
    expect(stopped).toBe(true)
  })
})
