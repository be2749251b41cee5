import { isIPv6 } from 'node:net'
import type { Context } from 'hono'

/** What Bun passes as the second argument of fetch: the server, which knows each request's peer. */
interface PeerAware {
  requestIP?: (request: Request) => { address: string } | null
}

/**
 * The key limits are counted against: the socket's peer, or with a trusted proxy the last
 * X-Forwarded-For entry (the one the proxy itself added), reduced by limitKey. In-process
 * requests (tests calling app.request) have no socket and share one key.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').pop()?.trim()
    if (forwarded) return limitKey(forwarded)
  }
  const server = c.env as PeerAware | undefined
  const peer = server?.requestIP?.(c.req.raw)?.address
  return peer ? limitKey(peer) : 'in-process'
}

/**
 * One client as the limits see it. An IPv6 host is usually given a whole /64 (2^64
 * addresses), so keying by the exact address would let one host take every stream slot:
 * IPv6 is keyed by its /64. An IPv4 address written as IPv6 (::ffff:192.0.2.1, how a
 * dual-stack socket reports IPv4 peers) is the IPv4 address. Anything else (an IPv4
 * address, or a proxy's entry that is not an address at all) is its own key.
 */
export function limitKey(address: string): string {
  let a = address.trim().toLowerCase()
  // A proxy may append the peer's port: [2001:db8::1]:443, 192.0.2.1:5678.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a)
  if (bracketed?.[1]) a = bracketed[1]
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(a)
  if (v4WithPort?.[1]) a = v4WithPort[1]
  const bare = a.split('%')[0] ?? a
  if (!isIPv6(bare)) return a
  const groups = expandIPv6(bare)
  // ::ffff:a.b.c.d and ::ffff:abcd:ef01 alike: the IPv4 address.
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const [hi = 0, lo = 0] = groups.slice(6).map((g) => Number.parseInt(g, 16))
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
  }
  return `${groups.slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address, in hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address
  // A trailing dotted quad (::1.2.3.4) is two groups.
  const quad = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const middle = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0')
  return [...left, ...middle, ...right].map((g) => Number.parseInt(g || '0', 16).toString(16))
}
