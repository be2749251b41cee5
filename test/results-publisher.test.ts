import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import {
  clearResultsDirty,
  holdPublisherLease,
  markResultsDirty,
  readResultsDirty,
  releasePublisherLease,
} from '../lib/db/results-publishing.ts'
import { testSql } from './helpers.ts'

/**
 * The results publisher's lease and hand-over, on the real database: one holder at a time,
 * taken over when it runs out (a frozen holder), given up on shutdown.
 */
const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

describe('the results publisher lease', () => {
  it('has one holder at a time, passes on when it runs out or is released, and hands over changed elections', async () => {
    const a = `test-a-${randomUUID().slice(0, 6)}`
    const b = `test-b-${randomUUID().slice(0, 6)}`
    // Whoever held it before this test (another file's tally) gives way once it runs out.
    await sql`delete from results_publisher_lease`
    expect(await holdPublisherLease(sql, a, 400)).toBe(true)
    expect(await holdPublisherLease(sql, b, 400)).toBe(false)
    expect(await holdPublisherLease(sql, a, 400)).toBe(true)
    await new Promise((r) => setTimeout(r, 600))
    // A stopped renewing (frozen): B takes over, and A finds it gone.
    expect(await holdPublisherLease(sql, b, 400)).toBe(true)
    expect(await holdPublisherLease(sql, a, 400)).toBe(false)
    await releasePublisherLease(sql, a)
    expect(await holdPublisherLease(sql, a, 400)).toBe(false)
    await releasePublisherLease(sql, b)
    expect(await holdPublisherLease(sql, a, 400)).toBe(true)
    await releasePublisherLease(sql, a)

    const ids = [`e-${randomUUID().slice(0, 6)}`, `e-${randomUUID().slice(0, 6)}`]
    await markResultsDirty(sql, ids)
    await markResultsDirty(sql, [ids[0] as string])
    const read = (await readResultsDirty(sql)).filter((m) => ids.includes(m.electionId))
    expect(read.map((m) => m.electionId).sort()).toEqual([...ids].sort())
    // A mark stays until its snapshot is sent; one marked again after it was read stays too.
    const first = read.find((m) => m.electionId === ids[0])
    const second = read.find((m) => m.electionId === ids[1])
    if (!first || !second) throw new Error('marks')
    await new Promise((r) => setTimeout(r, 20))
    await markResultsDirty(sql, [ids[0] as string])
    await clearResultsDirty(sql, first.electionId, first.markedAt)
    await clearResultsDirty(sql, second.electionId, second.markedAt)
    const left = (await readResultsDirty(sql)).filter((m) => ids.includes(m.electionId)).map((m) => m.electionId)
    expect(left).toEqual([ids[0]])
    await clearResultsDirty(sql, ids[0] as string, new Date().toISOString())
  })
})
