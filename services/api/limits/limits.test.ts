import { describe, expect, it } from 'vitest'
import { createConnectionLimiter } from './connection-limiter.ts'
import { createRateLimiter } from './rate-limiter.ts'

describe('the connection limiter', () => {
  it('caps connections per client and in total, and frees a slot once', () => {
    const limiter = createConnectionLimiter({ total: 3, perClient: 2 })
    const a1 = limiter.acquire('a')
    const a2 = limiter.acquire('a')
    expect(limiter.acquire('a')).toEqual({ refused: 'client' })
    const b1 = limiter.acquire('b')
    expect(limiter.acquire('c')).toEqual({ refused: 'total' })
    if (!('release' in a1) || !('release' in a2) || !('release' in b1)) throw new Error('should have been granted')
    a1.release()
    a1.release()
    expect(limiter.open()).toBe(2)
    expect('release' in limiter.acquire('c')).toBe(true)
  })
})

describe('the rate limiter', () => {
  it('lets a burst through, then one request per refill, per client', () => {
    let t = 0
    const limiter = createRateLimiter({ perSecond: 2, burst: 3, now: () => t })
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0])
    expect(limiter.take('a')).toBe(1)
    expect(limiter.take('b')).toBe(0)
    t = 500
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('a')).toBe(1)
  })

  it('forgets the least recent clients past its bound', () => {
    let t = 0
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, maxClients: 2, now: () => t })
    limiter.take('a')
    limiter.take('b')
    limiter.take('c') // 'a' is forgotten: it starts again with a full bucket
    expect(limiter.take('a')).toBe(0)
    t = 0
    expect(limiter.take('c')).toBe(1)
  })
})
