/**
 * The simulator's only source of randomness: stateless hashes of (seed, salt, index). The
 * same arguments always give the same number, so anything drawn from them can be drawn
 * again, in any order, by any process.
 */

/** A fast 32-bit mixer (a "lowbias32" finaliser). */
export function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

/** A uniform number in [0, 1) for (seed, k, salt). */
export function uniform(seed: number, k: number, salt: number): number {
  return mix(mix(mix(seed ^ 0x9e3779b9) ^ k) ^ Math.imul(salt, 0x85ebca6b)) / 4294967296
}

/** A standard normal number for (seed, k, salt) (Box–Muller over two uniforms). */
export function normal(seed: number, k: number, salt: number): number {
  const u = 1 - uniform(seed, k, salt * 2 + 0x3c6ef372)
  const v = uniform(seed, k, salt * 2 + 0x3c6ef373)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** An integer in [0, n) for (seed, k, salt). */
export function pick(seed: number, k: number, salt: number, n: number): number {
  return Math.floor(uniform(seed, k, salt) * n)
}

/** FNV-1a of a string. */
export function hashString(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * A keyed pseudo-random permutation of [0, n): a balanced four-round Feistel network on
 * the smallest even power of two that holds n, walked until it lands inside [0, n). The
 * larger domain is under 4n, so a call takes under four walks on average.
 */
export function permute(i: number, n: number, key: number): number {
  if (n <= 1) return 0
  const bits = 32 - Math.clz32(n - 1)
  const half = (bits + 1) >> 1
  const mask = (1 << half) - 1
  const k0 = mix(key ^ 0x243f6a88)
  const k1 = mix(key ^ 0x85a308d3)
  const k2 = mix(key ^ 0x13198a2e)
  const k3 = mix(key ^ 0x03707344)
  let x = i
  do {
    let l = x >>> half
    let r = x & mask
    let t = l ^ (mix(r ^ k0) & mask)
    l = r
    r = t
    t = l ^ (mix(r ^ k1) & mask)
    l = r
    r = t
    t = l ^ (mix(r ^ k2) & mask)
    l = r
    r = t
    t = l ^ (mix(r ^ k3) & mask)
    l = r
    r = t
    x = ((l << half) | r) >>> 0
  } while (x >= n)
  return x
}

/**
 * Splits `total` into integers proportional to `weights` (largest remainders), each at least
 * `floor` when the total allows it and at most `caps[i]` when caps are given.
 */
export function apportion(total: number, weights: ArrayLike<number>, floor = 0, caps?: ArrayLike<number>): number[] {
  const n = weights.length
  const out = new Array<number>(n).fill(0)
  if (n === 0 || total <= 0) return out
  const base = total >= floor * n ? floor : 0
  let rest = total - base * n
  let sum = 0
  for (let i = 0; i < n; i++) sum += Math.max(0, weights[i] ?? 0)
  const fractions: Array<[number, number]> = []
  for (let i = 0; i < n; i++) {
    const cap = caps ? (caps[i] ?? 0) : Number.POSITIVE_INFINITY
    const share = sum > 0 ? (rest * Math.max(0, weights[i] ?? 0)) / sum : rest / n
    const whole = Math.min(cap - base, Math.floor(share))
    out[i] = base + whole
    fractions.push([share - whole, i])
  }
  for (const v of out) rest -= v - base
  fractions.sort((a, b) => b[0] - a[0] || a[1] - b[1])
  // Largest remainders first, then (with caps) anyone with room left, until nothing is left.
  for (let pass = 0; rest > 0 && pass < 2; pass++) {
    for (const [, i] of fractions) {
      if (rest <= 0) break
      const cap = caps ? (caps[i] ?? 0) : Number.POSITIVE_INFINITY
      const room = cap - (out[i] ?? 0)
      if (room <= 0) continue
      const add = pass === 0 ? 1 : Math.min(room, rest)
      out[i] = (out[i] ?? 0) + add
      rest -= add
    }
  }
  return out
}
