import { z } from 'zod'

/**
 * The audit's pseudo-random sample, as Rivest's `sampler.py` draws it (reference
 * implementation, version of November 14, 2011: http://people.csail.mit.edu/rivest/sampler.py,
 * with the test cases of https://github.com/cjerdonek/rivest-sampler-tests).
 *
 * The exact construction, so that anyone can redraw the sample with a few lines in any
 * language (or Philip Stark's browser page) from the published seed and manifest:
 *
 *   1. The seed is the digits the dice gave, concatenated, as typed (UTF-8 bytes; digits only).
 *   2. Draw k (k = 1, 2, 3, …) hashes the text `<seed>,<k>` (k in decimal, no padding) with
 *      SHA-256.
 *   3. The 64 hex digits of the hash, read as one unsigned big-endian integer H, give the
 *      ticket (H mod N) + 1, a number in 1..N, where N is the manifest's ballot count.
 *   4. Sampling is WITH replacement: a ticket drawn twice is a ballot drawn twice (BRAVO and
 *      the Kaplan–Markov comparison test both assume independent draws, and count it twice).
 *   5. Ticket t is the ballot at position t in the manifest read in order: batch after
 *      batch, as the manifest lists them; within a batch, positions 1..count.
 *
 * The bias of a 256-bit number reduced mod N is below N / 2^256: nothing a county can measure.
 * Drawing more later (escalating) continues at k = n + 1: the first n draws never change.
 *
 * SHA-256 is written out here (FIPS 180-4) rather than taken from node:crypto: domain/ is
 * pure (no runtime modules; scripts/boundaries.ts), and a pure hash also runs inside a
 * Temporal workflow, whose sandbox refuses node:crypto, so the workflow can draw its own
 * sample deterministically. The tests hold it equal to node:crypto on thousands of inputs.
 */

/** Fewer digits than this and the seed could be guessed; Rivest recommends 20 to 24 or more. */
export const SEED_MIN_DIGITS = 20
export const SEED_MAX_DIGITS = 200

export const seedSchema = z
  .string()
  .regex(/^\d*$/, 'the seed is the digits rolled on the dice (0-9), typed with no spaces, signs or letters')
  .min(SEED_MIN_DIGITS, `the seed needs at least ${SEED_MIN_DIGITS} digits of dice rolls: fewer could be guessed`)
  .max(SEED_MAX_DIGITS, `the seed has at most ${SEED_MAX_DIGITS} digits`)

/** One batch of the ballot manifest: a container of paper ballots and how many it holds. */
export interface ManifestBatch {
  id: string
  ballots: number
}

export const manifestBatchSchema = z.object({
  id: z.string().min(1),
  ballots: z.number().int().min(0),
})

/** A ballot the sample asks for: which draw, which ticket, and where the paper is. */
export interface SampledBallot {
  /** k: 1 for the first draw. */
  draw: number
  /** 1..N: the position in the whole manifest. */
  ticket: number
  batchId: string
  /** 1..count: the position within its batch (the n-th sheet of the container). */
  position: number
}

/** Step 2–3: the ticket (1..total) of draw k, exactly as sampler.py computes it. */
export function ticket(seed: string, k: number, total: number): number {
  if (!Number.isSafeInteger(total) || total < 1) throw new RangeError(`a sample needs at least one ballot (got ${total})`)
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`draws count from 1 (got ${k})`)
  const hex = sha256Hex(`${seed},${k}`)
  // A 256-bit number does not fit a double: bigint keeps every bit, as Python's int does.
  return Number(BigInt(`0x${hex}`) % BigInt(total)) + 1
}

/** The manifest's ballot count N. */
export function manifestTotal(manifest: readonly ManifestBatch[]): number {
  return manifest.reduce((n, b) => n + b.ballots, 0)
}

/**
 * Step 5: where ticket t (1..N) lies. Binary search over the running totals: a county's
 * manifest has thousands of batches, and a round asks for hundreds of ballots.
 */
export function locate(
  manifest: readonly ManifestBatch[],
  t: number,
  ends = runningTotals(manifest),
): { batchId: string; position: number } {
  const total = ends[ends.length - 1] ?? 0
  if (!Number.isInteger(t) || t < 1 || t > total) throw new RangeError(`ticket ${t} is outside 1..${total}`)
  let lo = 0
  let hi = ends.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((ends[mid] ?? 0) >= t) hi = mid
    else lo = mid + 1
  }
  const before = lo === 0 ? 0 : (ends[lo - 1] ?? 0)
  return { batchId: (manifest[lo] as ManifestBatch).id, position: t - before }
}

function runningTotals(manifest: readonly ManifestBatch[]): number[] {
  let n = 0
  return manifest.map((b) => {
    n += b.ballots
    return n
  })
}

/**
 * Draws `from` .. `from + count - 1` (escalation asks for the next ones with `from` = the
 * draws so far + 1). The seed must pass `seedSchema` (parse it where it is typed in).
 */
export function drawSample(seed: string, manifest: readonly ManifestBatch[], count: number, from = 1): SampledBallot[] {
  seedSchema.parse(seed)
  const ends = runningTotals(manifest)
  const total = ends[ends.length - 1] ?? 0
  const out: SampledBallot[] = []
  for (let k = from; k < from + count; k++) {
    const t = ticket(seed, k, total)
    out.push({ draw: k, ticket: t, ...locate(manifest, t, ends) })
  }
  return out
}

/** The round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

/** SHA-256 (FIPS 180-4) of a text's UTF-8 bytes, as 64 lowercase hex digits. */
export function sha256Hex(text: string): string {
  const data = new TextEncoder().encode(text)
  // Padding: a 1 bit, zeros, and the length in bits as 64 bits, to a multiple of 64 bytes.
  const blocks = Math.ceil((data.length + 9) / 64)
  const bytes = new Uint8Array(blocks * 64)
  bytes.set(data)
  bytes[data.length] = 0x80
  const view = new DataView(bytes.buffer)
  view.setUint32(bytes.length - 8, Math.floor(data.length / 0x20000000))
  view.setUint32(bytes.length - 4, (data.length * 8) >>> 0)
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
  const w = new Uint32Array(64)
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n))
  for (let off = 0; off < bytes.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4)
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15] as number
      const y = w[i - 2] as number
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) >>> 0
    }
    let [a, b, c, d, e, f, g, hh] = h as unknown as [number, number, number, number, number, number, number, number]
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + (K[i] as number) + (w[i] as number)) >>> 0
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0
      hh = g
      g = f
      f = e
      e = (d + t1) >>> 0
      d = c
      c = b
      b = a
      a = (t1 + t2) >>> 0
    }
    const add = [a, b, c, d, e, f, g, hh]
    for (let i = 0; i < 8; i++) h[i] = ((h[i] as number) + (add[i] as number)) >>> 0
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, '0')).join('')
}
