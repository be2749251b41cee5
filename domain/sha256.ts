import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

/**
 * SHA-256 for the domain: audit file fingerprints, the set's commitment, the audit
 * sampler's tickets. From @noble/hashes (audited, no runtime dependency), not node:crypto:
 * domain/ is also loaded in Temporal's workflow sandbox, where node modules are refused,
 * and an auditor's sample must be drawable there.
 */

const utf8 = new TextEncoder()
const bytes = (data: string | Uint8Array) => (typeof data === 'string' ? utf8.encode(data) : data)

/** An incremental SHA-256: `update` with text (as UTF-8) or bytes, any number of times, then `hex()` once. */
export class Sha256 {
  private readonly hash = sha256.create()
  update(data: string | Uint8Array): this {
    this.hash.update(bytes(data))
    return this
  }
  hex(): string {
    return bytesToHex(this.hash.digest())
  }
}

/** SHA-256 of text (its UTF-8 bytes) or bytes, in lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return bytesToHex(sha256(bytes(data)))
}

/**
 * HMAC-SHA-256 under one key (hex), for many short messages: the keyed state is built once
 * and cloned per message. Returns the tag in lower-case hex.
 */
export function hmacSha256Hex(keyHex: string): (message: Uint8Array) => string {
  const keyed = hmac.create(sha256, hexToBytes(keyHex))
  return (message) => bytesToHex(keyed.clone().update(message).digest())
}
