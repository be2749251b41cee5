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
 * SHA-256 is domain/sha256.ts's (incremental: a cast vote record file of a million ballots
 * is hashed chunk by chunk as it is streamed). The tests hold it to node:crypto and to
 * FIPS 180-4's examples.
 */
import { Sha256, sha256Hex } from '../sha256.ts'

export { Sha256, sha256Hex }

const utf8 = new TextEncoder()

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
