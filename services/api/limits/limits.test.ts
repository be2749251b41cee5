import { describe, expect, it } from 'vitest'
import { limitKey } from './client-address.ts'
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

describe('the key a client is limited by', () => {
  it('is the /64 of an IPv6 address, however it is written', () => {
    expect(limitKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(limitKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64')
    expect(limitKey('2001:DB8:0001:0002::1')).toBe('2001:db8:1:2::/64')
    expect(limitKey('[2001:db8::1]')).toBe('2001:db8:0:0::/64')
    expect(limitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(limitKey('::1')).toBe('0:0:0:0::/64')
    expect(limitKey('2001:db8:1:3::1')).not.toBe(limitKey('2001:db8:1:2::1'))
  })

  it('is the IPv4 address of an IPv4-mapped one, and an IPv4 address or anything else as given', () => {
    expect(limitKey('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(limitKey('::FFFF:192.0.2.1')).toBe('192.0.2.1')
    expect(limitKey('192.0.2.1')).toBe('192.0.2.1')
    expect(limitKey('::ffff:c000:201')).toBe('192.0.2.1')
    expect(limitKey('not-an-address')).toBe('not-an-address')
  })

  it('ignores a port a proxy appended', () => {
    expect(limitKey('192.0.2.1:5678')).toBe('192.0.2.1')
    expect(limitKey('[2001:db8:1:2::1]:443')).toBe('2001:db8:1:2::/64')
  })
})
