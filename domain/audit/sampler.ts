import { z } from 'zod'
import { sha256Hex } from '../sha256.ts'

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
 * SHA-256 is domain/sha256.ts's (@noble/hashes, not node:crypto): it also runs inside a
 * Temporal workflow, whose sandbox refuses node modules, so the workflow can draw its own
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

export { sha256Hex }
