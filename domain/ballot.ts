import { z } from 'zod'

/**
 * The ballot contract on the `votes` topic: key = voter id, value = this JSON.
 * Versioned by `v`; a consumer rejects a version it does not know. Only the voter's
 * opaque id travels: no name, no address, no credential.
 */

export const CHANNELS = ['election_day', 'early', 'mail'] as const
export type Channel = (typeof CHANNELS)[number]

/** What an id of an election, voter, candidate or region may look like, everywhere. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/
export const ID_RULE = 'letters, digits and _ . : - only'

const id = z.string().min(1).max(64).regex(ID_PATTERN, ID_RULE)

export const ballotV1 = z.strictObject({
  v: z.literal(1),
  ballotId: z.uuid(),
  electionId: id,
  voterId: id,
  candidateId: id,
  regionId: id,
  channel: z.enum(CHANNELS),
  castAt: z.iso.datetime({ offset: true }),
})
export type Ballot = z.infer<typeof ballotV1>

/** Why a ballot was not counted. Every rejection records one of these. */
export const REJECTION_REASONS = [
  'malformed', // not JSON
  'invalid_schema', // JSON, but not a ballot of a known version
  'unknown_election',
  'election_not_open',
  'unknown_candidate',
  'unknown_region',
  'voter_not_registered',
  'wrong_region', // the voter is on the roll of another region
  'duplicate_voter', // the voter has already cast a (different) ballot
  'duplicate_ballot_id', // the ballot id is already used by another voter's ballot
] as const
export type RejectionReason = (typeof REJECTION_REASONS)[number]

export type Decoded =
  | { ok: true; ballot: Ballot }
  | { ok: false; reason: 'malformed' | 'invalid_schema'; detail: string; partial?: Partial<Ballot> }

export function encodeBallot(ballot: Ballot): Buffer {
  return Buffer.from(JSON.stringify(ballot))
}

export function decodeBallot(bytes: Buffer | null): Decoded {
  if (bytes === null || bytes.length === 0) return { ok: false, reason: 'malformed', detail: 'empty message' }
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not JSON: ${(err as Error).message}`.slice(0, 300) }
  }
  const parsed = ballotV1.safeParse(json)
  if (parsed.success) return { ok: true, ballot: parsed.data }
  const detail = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ')
  return { ok: false, reason: 'invalid_schema', detail: detail.slice(0, 500), partial: pickIds(json) }
}

/** Keeps what can be attributed (election, voter, ballot id) from an invalid ballot. */
function pickIds(json: unknown): Partial<Ballot> | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const o = json as Record<string, unknown>
  const str = (v: unknown) => (typeof v === 'string' && v.length <= 64 ? v : undefined)
  return { electionId: str(o.electionId), voterId: str(o.voterId), ballotId: str(o.ballotId) }
}
