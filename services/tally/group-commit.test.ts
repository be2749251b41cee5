import { describe, expect, it } from 'vitest'
import { createGroupCommit } from './group-commit.ts'

/** A commit function that records what each transaction held and finishes when told to. */
function recorder() {
  const transactions: string[][] = []
  const finish: Array<(fail?: Error) => void> = []
  const commit = (messages: string[]) =>
    new Promise<number>((resolve, reject) => {
      const index = transactions.push(messages) - 1
      finish.push((fail) => (fail ? reject(fail) : resolve(index)))
    })
  return { transactions, finish, commit }
}

/** Lets the committer's scheduled turns of the event loop run. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
}

describe('group commit', () => {
  it('counts the batches handed over together in one transaction', async () => {
    const r = recorder()
    const gc = createGroupCommit({ maxInFlight: 1, maxMessages: 100, commit: r.commit })
    const settled = [gc.submit(['p0:1', 'p0:2']), gc.submit(['p1:7']), gc.submit(['p2:3'])]
    await settle()
    expect(r.transactions).toEqual([['p0:1', 'p0:2', 'p1:7', 'p2:3']])
    r.finish[0]?.()
    expect(await Promise.all(settled)).toEqual([0, 0, 0])
  })

  it('lets batches that arrive during a transaction wait for the next one, together', async () => {
    const r = recorder()
    const gc = createGroupCommit({ maxInFlight: 1, maxMessages: 100, commit: r.commit })
    const first = gc.submit(['a'])
    await settle()
    const later = [gc.submit(['b']), gc.submit(['c'])]
    await settle()
    expect(r.transactions).toEqual([['a']])
    expect(gc.state()).toEqual({ inFlight: 1, waiting: 2 })
    r.finish[0]?.()
    expect(await first).toBe(0)
    await settle()
    expect(r.transactions).toEqual([['a'], ['b', 'c']])
    r.finish[1]?.()
    expect(await Promise.all(later)).toEqual([1, 1])
    expect(gc.state()).toEqual({ inFlight: 0, waiting: 0 })
  })

  it('shares waiting batches between free slots, whole batches, in the order they came', async () => {
    const r = recorder()
    const gc = createGroupCommit({ maxInFlight: 2, maxMessages: 100, commit: r.commit })
    for (const b of [
      ['a1', 'a2'],
      ['b1', 'b2'],
      ['c1', 'c2'],
      ['d1', 'd2'],
    ])
      void gc.submit(b)
    await settle()
    expect(r.transactions).toEqual([
      ['a1', 'a2', 'b1', 'b2'],
      ['c1', 'c2', 'd1', 'd2'],
    ])
    expect(gc.state()).toEqual({ inFlight: 2, waiting: 0 })
  })

  it('keeps a transaction under maxMessages, except for a batch that is larger on its own', async () => {
    const r = recorder()
    const gc = createGroupCommit({ maxInFlight: 1, maxMessages: 3, commit: r.commit })
    void gc.submit(['a', 'b'])
    void gc.submit(['c', 'd'])
    void gc.submit(['e', 'f', 'g', 'h'])
    await settle()
    expect(r.transactions).toEqual([['a', 'b']])
    r.finish[0]?.()
    await settle()
    expect(r.transactions[1]).toEqual(['c', 'd'])
    r.finish[1]?.()
    await settle()
    expect(r.transactions[2]).toEqual(['e', 'f', 'g', 'h'])
  })

  it('fails every batch of a failed transaction and goes on with the next', async () => {
    const r = recorder()
    const gc = createGroupCommit({ maxInFlight: 1, maxMessages: 100, commit: r.commit })
    const failed = [gc.submit(['a']), gc.submit(['b'])]
    await settle()
    const next = gc.submit(['c'])
    r.finish[0]?.(new Error('stopping'))
    for (const f of failed) await expect(f).rejects.toThrow('stopping')
    await settle()
    expect(r.transactions).toEqual([['a', 'b'], ['c']])
    r.finish[1]?.()
    expect(await next).toBe(1)
  })
})
