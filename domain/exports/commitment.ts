/**
 * The audit files' fingerprints (issue #28 item 2): each file's SHA-256, and one commitment
 * over the set, published before an audit draws its seed so that nobody — VoteStream
 * included — can change a cast vote record or a batch after seeing which ballots the seed
 * picks.
 *
 * The set is committed as a text in `sha256sum`'s own format — one line per file,
 * `<64 hex>  <name>\n`, sorted by name — and the commitment is the SHA-256 of that text.
 * Anyone can check it with standard tools: save the list as SHA256SUMS, run
 * `sha256sum -c SHA256SUMS` next to the downloaded files, and `sha256sum SHA256SUMS` gives
 * the commitment.
 *
 * SHA-256 is written here (FIPS 180-4) because domain/ may import no runtime module
 * (node:crypto) and no hashing package is installed; it is incremental, so a cast vote
 * record file of a million ballots is hashed chunk by chunk as it is streamed. The tests
 * hold it to node:crypto and to FIPS 180-4's examples. A caller that hashes with
 * node:crypto instead passes its digests to `commit`.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

const utf8 = new TextEncoder()

/** An incremental SHA-256: `update` with text (as UTF-8) or bytes, any number of times, then `hex()` once. */
export class Sha256 {
  private readonly h = new Uint32Array(H0)
  private readonly w = new Uint32Array(64)
  private readonly block = new Uint8Array(64)
  private filled = 0
  private length = 0
  private done = false

  update(data: string | Uint8Array): this {
    if (this.done) throw new Error('Sha256: update after digest')
    const bytes = typeof data === 'string' ? utf8.encode(data) : data
    this.length += bytes.length
    let i = 0
    if (this.filled > 0) {
      const take = Math.min(64 - this.filled, bytes.length)
      this.block.set(bytes.subarray(0, take), this.filled)
      this.filled += take
      i = take
      if (this.filled < 64) return this
      this.compress(this.block, 0)
      this.filled = 0
    }
    for (; i + 64 <= bytes.length; i += 64) this.compress(bytes, i)
    if (i < bytes.length) {
      this.block.set(bytes.subarray(i), 0)
      this.filled = bytes.length - i
    }
    return this
  }

  /** The 32-byte digest. The hash cannot be updated afterwards. */
  digest(): Uint8Array {
    if (this.done) throw new Error('Sha256: digest taken twice')
    const bits = this.length * 8
    const tail = new Uint8Array(this.filled + 9 <= 64 ? 64 : 128)
    tail.set(this.block.subarray(0, this.filled))
    tail[this.filled] = 0x80
    const view = new DataView(tail.buffer)
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32))
    view.setUint32(tail.length - 4, bits >>> 0)
    for (let i = 0; i < tail.length; i += 64) this.compress(tail, i)
    this.done = true
    const out = new Uint8Array(32)
    const outView = new DataView(out.buffer)
    for (let i = 0; i < 8; i++) outView.setUint32(i * 4, this.h[i] as number)
    return out
  }

  /** The digest in lower-case hex, as sha256sum prints it. */
  hex(): string {
    let s = ''
    for (const b of this.digest()) s += b.toString(16).padStart(2, '0')
    return s
  }

  private compress(bytes: Uint8Array, at: number): void {
    const w = this.w
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4
      w[t] = ((bytes[j] as number) << 24) | ((bytes[j + 1] as number) << 16) | ((bytes[j + 2] as number) << 8) | (bytes[j + 3] as number)
    }
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15] as number
      const b = w[t - 2] as number
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
      w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0
    }
    const h = this.h
    let a = h[0] as number
    let b = h[1] as number
    let c = h[2] as number
    let d = h[3] as number
    let e = h[4] as number
    let f = h[5] as number
    let g = h[6] as number
    let hh = h[7] as number
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const ch = (e & f) ^ (~e & g)
      const t1 = (hh + S1 + ch + (K[t] as number) + (w[t] as number)) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const maj = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (S0 + maj) | 0
      hh = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h[0] = ((h[0] as number) + a) | 0
    h[1] = ((h[1] as number) + b) | 0
    h[2] = ((h[2] as number) + c) | 0
    h[3] = ((h[3] as number) + d) | 0
    h[4] = ((h[4] as number) + e) | 0
    h[5] = ((h[5] as number) + f) | 0
    h[6] = ((h[6] as number) + g) | 0
    h[7] = ((h[7] as number) + hh) | 0
  }
}

/** SHA-256 of text (its UTF-8 bytes) or bytes, in lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return new Sha256().update(data).hex()
}

/** One published file: its name, the SHA-256 of its bytes, and their number. */
export interface FileDigest {
  name: string
  sha256: string
  bytes: number
}

export interface Commitment {
  algorithm: 'sha-256'
  /** The files, sorted by name. */
  files: FileDigest[]
  /** The committed text, in sha256sum's format: `<sha256>  <name>\n` per file, sorted by name. */
  list: string
  /** SHA-256 of `list`. */
  commitment: string
}

/**
 * File names are plain (letters, digits, `.`, `_`, `-`; no path): a name with a space or a
 * newline would make the list ambiguous, and one with `/` would name a file elsewhere.
 */
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/
const HEX64 = /^[0-9a-f]{64}$/

const byteLength = (data: string | Uint8Array) => (typeof data === 'string' ? utf8.encode(data).length : data.length)

/** A file's digest from its whole content. */
export function digestFile(name: string, content: string | Uint8Array): FileDigest {
  checkName(name)
  return { name, sha256: sha256Hex(content), bytes: byteLength(content) }
}

/** A file's digest from its chunks (the streamed cast vote records), without holding the file. */
export function digestChunks(name: string, chunks: Iterable<string | Uint8Array>): FileDigest {
  checkName(name)
  const hash = new Sha256()
  let bytes = 0
  for (const chunk of chunks) {
    const b = typeof chunk === 'string' ? utf8.encode(chunk) : chunk
    hash.update(b)
    bytes += b.length
  }
  return { name, sha256: hash.hex(), bytes }
}

/** The set's commitment from its files' digests (each name once). */
export function commit(digests: Iterable<FileDigest>): Commitment {
  const files = [...digests].map((d) => ({ name: d.name, sha256: d.sha256, bytes: d.bytes }))
  const seen = new Set<string>()
  for (const f of files) {
    checkName(f.name)
    if (!HEX64.test(f.sha256)) throw new Error(`${f.name}: a SHA-256 is 64 lower-case hex digits`)
    if (seen.has(f.name)) throw new Error(`${f.name} appears twice in the set`)
    seen.add(f.name)
  }
  // Names are ASCII: code-unit order is byte order, what `LC_ALL=C sort` gives.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const list = files.map((f) => `${f.sha256}  ${f.name}\n`).join('')
  return { algorithm: 'sha-256', files, list, commitment: sha256Hex(list) }
}

/** The commitment of files given whole. */
export function commitFiles(files: Iterable<{ name: string; content: string | Uint8Array }>): Commitment {
  return commit([...files].map((f) => digestFile(f.name, f.content)))
}

/**
 * Whether `files` are exactly the set committed to: the same names, each with the published
 * digest, and the list hashing to the published commitment (a commitment string alone
 * checks the last). Returns what differs, nothing when they match.
 */
export function verifyCommitment(
  files: Iterable<{ name: string; content: string | Uint8Array }>,
  published: Commitment | string,
): { ok: boolean; problems: string[] } {
  const problems: string[] = []
  let actual: Commitment
  try {
    actual = commitFiles(files)
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] }
  }
  const expected = typeof published === 'string' ? published : published.commitment
  if (typeof published !== 'string') {
    const mine = new Map(actual.files.map((f) => [f.name, f]))
    const theirs = new Map(published.files.map((f) => [f.name, f]))
    for (const [name, f] of theirs) {
      const m = mine.get(name)
      if (!m) problems.push(`${name}: missing`)
      else if (m.sha256 !== f.sha256) problems.push(`${name}: sha256 ${m.sha256}, published ${f.sha256}`)
    }
    for (const name of mine.keys()) if (!theirs.has(name)) problems.push(`${name}: not in the published set`)
    if (sha256Hex(published.list) !== published.commitment) problems.push('the published list does not hash to the published commitment')
  }
  if (actual.commitment !== expected) problems.push(`commitment ${actual.commitment}, published ${expected}`)
  return { ok: problems.length === 0, problems }
}

function checkName(name: string): void {
  if (!FILE_NAME.test(name)) throw new Error(`${JSON.stringify(name)}: a file name is letters, digits, '.', '_' and '-' (no path)`)
}
