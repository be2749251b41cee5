import { randomBytes } from 'node:crypto'

/**
 * A version-7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then random bits. Ids
 * made later sort later, so PostgreSQL's ballot-id index takes each insert near the last
 * one instead of at a random leaf, which costs a read per ballot once the index outgrows
 * memory (the benchmark's PostgreSQL-alone step went from 21–33k to 49–54k ballots/s on a
 * database of millions of ballots when the simulator's ids became ordered).
 */
export function uuidV7(now = Date.now()): string {
  const b = randomBytes(16)
  b.writeUIntBE(now, 0, 6)
  b[6] = 0x70 | ((b[6] ?? 0) & 0x0f)
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f)
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
