import { describe, expect, it } from 'vitest'
import { ballotIdSchema } from '../domain/ballot.ts'
import { uuidV7 } from './uuid-v7.ts'

describe('uuidV7', () => {
  it('is a version-7 UUID the ballot contract accepts, with the time first', () => {
    const id = uuidV7(Date.UTC(2026, 10, 25))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ballotIdSchema.safeParse(id).success).toBe(true)
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2026, 10, 25))
  })

  it('sorts by time and is unique within a millisecond', () => {
    const ids = [uuidV7(1_000), uuidV7(2_000), uuidV7(3_000)]
    expect([...ids].sort()).toEqual(ids)
    const same = new Set(Array.from({ length: 10_000 }, () => uuidV7(5_000)))
    expect(same.size).toBe(10_000)
  })
})
