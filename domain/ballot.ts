import { z } from 'zod'
import { CONTEST_LIMITS } from './contest-limits.ts'

/**
 * The ballot contract on the `votes` topic: key = voter id, value = this JSON.
 * Versioned by `v`; a consumer rejects a version it does not know. Only the voter's
 * opaque id travels: no name, no address, no credential.
 *
 * Whatever this contract accepts, PostgreSQL must accept too: a message the contract lets
 * through and the database then refuses would stop a partition. So ids are plain ASCII of
 * bounded length, the ballot id is a UUID in one canonical (lower-case) form, and `castAt`
 * is an instant that PostgreSQL, JavaScript and a per-minute trend bucket can all hold.
 */

export const CHANNELS = ['election_day', 'early', 'mail'] as const
export type Channel = (typeof CHANNELS)[number]

/** What an id of an election, voter, candidate or region may look like, everywhere. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/
export const ID_RULE = 'a letter or digit first, then letters, digits and _ . : - only'
export const ID_MAX_LENGTH = 64

export const idSchema = z.string().min(1).max(ID_MAX_LENGTH).regex(ID_PATTERN, ID_RULE)

/** Ballot ids compare in one form: a UUID in lower case. */
export const ballotIdSchema = z.uuid().transform((s) => s.toLowerCase())

/**
 * The instants a ballot may claim. Earlier or later bytes may well be valid ISO 8601 (the
 * year 0000, or 0001 with a positive offset, which is year 0 in UTC) but PostgreSQL refuses
 * them; the election's own window (opened, now plus skew) is checked when counting.
 */
export const CAST_AT_MIN = Date.parse('2000-01-01T00:00:00Z')
export const CAST_AT_MAX = Date.parse('9999-12-31T00:00:00Z')

export const castAtSchema = z.iso.datetime({ offset: true }).transform((s, ctx) => {
  const ms = Date.parse(s)
  if (!Number.isFinite(ms) || ms < CAST_AT_MIN || ms > CAST_AT_MAX) {
    ctx.addIssue({ code: 'custom', message: 'must be an instant between 2000-01-01 and 9999-12-31' })
    return z.NEVER
  }
  // One canonical form (UTC, milliseconds): what is stored is what was checked.
  return new Date(ms).toISOString()
})

export const ballotV1 = z.strictObject({
  v: z.literal(1),
  ballotId: ballotIdSchema,
  electionId: idSchema,
  voterId: idSchema,
  candidateId: idSchema,
  regionId: idSchema,
  channel: z.enum(CHANNELS),
  castAt: castAtSchema,
})
export type Ballot = z.output<typeof ballotV1>

/**
 * A write-in: the name the voter wrote on a write-in line. Text, bounded, no control
 * characters; it is kept in the ballot box and counted on the contest's write-in line.
 */
export const writeInMarkSchema = z.strictObject({
  writeIn: z
    .string()
    .trim()
    .min(1)
    .max(CONTEST_LIMITS.writeInName)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
})
/**
 * The marks at one rank of a ranked-choice contest: the candidates marked there. `[]` is a
 * skipped rank, two or more an overvote at that rank (the contest's rules say how they
 * count: domain/rcv/). In a ranked contest a plain id at a rank is the same as `[id]`.
 */
export const rankMarksSchema = z.array(idSchema).max(CONTEST_LIMITS.selectionsPerContest)

/**
 * One mark in one contest: a selection's id, or a name written in; in a ranked-choice
 * contest, the contest's marks are its ranks in order (1st choice first), each an id or a
 * rank's marks. Which form fits which contest is the counter's to judge (tabulation.ts).
 */
export const markSchema = z.union([idSchema, writeInMarkSchema, rankMarksSchema])
export type Mark = z.output<typeof markSchema>

/** Marks counted against the limits: a rank counts the candidates marked at it. */
export const markWeight = (m: unknown): number => (Array.isArray(m) ? m.length : 1)

/** Per contest (by id) the marks the voter made in it; a contest left out is blank. */
export const marksSchema = z
  .record(idSchema, z.array(markSchema).max(CONTEST_LIMITS.marksPerContest, `at most ${CONTEST_LIMITS.marksPerContest} marks in a contest`))
  .superRefine((m, ctx) => {
    const contests = Object.keys(m).length
    if (contests > CONTEST_LIMITS.contests)
      ctx.addIssue({ code: 'custom', message: `at most ${CONTEST_LIMITS.contests} contests on a ballot (${contests} given)` })
    let marks = 0
    for (const k in m) for (const x of m[k] ?? []) marks += markWeight(x)
    if (marks > CONTEST_LIMITS.marksPerBallot)
      ctx.addIssue({ code: 'custom', message: `at most ${CONTEST_LIMITS.marksPerBallot} marks on a ballot (${marks} given)` })
  })
export type Marks = z.output<typeof marksSchema>

export const IMPRINT_PATTERN = /^[A-Za-z0-9-]{8,64}$/
export const IMPRINT_RULE = '8 to 64 letters, digits and hyphens'

/**
 * The imprint: the id a scanner prints on a paper ballot as it reads it (random, not the
 * voter's, not in casting order), carried into the ballot box and the cast vote record
 * (`BallotAuditId`) so that a ballot-comparison audit can put the paper it draws beside the
 * record that was counted for it. Optional: a ballot cast through the API has no paper.
 * It must not be the voter's id or the ballot id (decodeBallot refuses those): the box
 * would then name its voter.
 */
export const imprintSchema = z
  .string()
  .regex(IMPRINT_PATTERN, IMPRINT_RULE)
  // One form: an audit board reads `AB12` and `ab12` as the same paper, so the box must too.
  .transform((s) => s.toLowerCase())

/**
 * Version 2: the voter's marks for the contests of their ballot style. Whether the marks
 * fit the style (contests on it, selections in them, write-ins allowed) is judged by the
 * counter against the election's definition (tabulation.ts): the contract checks the shape.
 */
export const ballotV2 = z.strictObject({
  v: z.literal(2),
  ballotId: ballotIdSchema,
  electionId: idSchema,
  voterId: idSchema,
  regionId: idSchema,
  channel: z.enum(CHANNELS),
  castAt: castAtSchema,
  marks: marksSchema,
  imprint: imprintSchema.optional(),
})
export type BallotV2 = z.output<typeof ballotV2>
export type AnyBallot = Ballot | BallotV2

const anyBallot = z.discriminatedUnion('v', [ballotV1, ballotV2])

/** Why a message was not counted. Every rejection records one of these. */
export const REJECTION_REASONS = [
  'malformed', // not JSON
  'invalid_schema', // JSON, but not a ballot of a known version
  'unknown_election',
  'election_not_open', // the election was not open when the message reached the log
  'cast_in_future', // castAt later than the counter's clock plus the allowed skew
  'cast_before_open', // castAt before the election opened
  'unknown_candidate',
  'unknown_region',
  'voter_not_registered',
  'wrong_region', // the voter is on the roll of another region
  'duplicate_voter', // the voter has already cast a (different) ballot
  'duplicate_ballot_id', // the ballot id is already used by another voter's ballot
  'wrong_ballot_version', // a v2 ballot for an election without contests
  'unknown_contest', // a contest the election does not have
  'contest_not_on_style', // a contest of the election, but not on the ballot style of the voter's region
  'unknown_selection', // a mark for a selection the contest does not have
  'write_in_not_allowed', // a name written in where the contest has no write-in line
  'malformed_mark', // the same selection marked twice in one contest (or at one rank), or a rank's marks in a contest that is not ranked
  'rank_beyond_limit', // a ranked-choice contest ranked past the ranks it allows
  'unprocessable', // passed every check but the database refused it: the error is kept
] as const
export type RejectionReason = (typeof REJECTION_REASONS)[number]

/** What can be attributed from a message that is not a valid ballot. */
export interface Attribution {
  electionId?: string
  voterId?: string
  ballotId?: string
}

export type Decoded =
  | { ok: true; ballot: AnyBallot }
  | { ok: false; reason: 'malformed' | 'invalid_schema'; detail: string; partial?: Attribution }

export function encodeBallot(ballot: AnyBallot): Buffer {
  return Buffer.from(JSON.stringify(ballot))
}

export function decodeBallot(bytes: Buffer | null): Decoded {
  if (bytes === null || bytes.length === 0) return { ok: false, reason: 'malformed', detail: 'empty message' }
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: safeText(`not JSON: ${(err as Error).message}`, 300) }
  }
  const fast = acceptCanonicalBallot(json) ?? acceptCanonicalBallotV2(json)
  const parsed = fast ? undefined : anyBallot.safeParse(json)
  const ballot = fast ?? parsed?.data
  if (ballot) return identifyingImprint(ballot) ?? { ok: true, ballot }
  const detail = (parsed?.error?.issues ?? [])
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ')
  return { ok: false, reason: 'invalid_schema', detail: safeText(detail, 500), partial: attribute(json) }
}

/** An imprint that is the voter's id or the ballot id would put the voter in the ballot box: refused as the schema's. */
function identifyingImprint(ballot: AnyBallot): Decoded | undefined {
  if (ballot.v !== 2 || ballot.imprint === undefined) return undefined
  const imprint = ballot.imprint.replaceAll('-', '')
  const ballotId = ballot.ballotId.replaceAll('-', '')
  if (imprint !== ballot.voterId.toLowerCase().replaceAll('-', '') && imprint !== ballotId) return undefined
  return {
    ok: false,
    reason: 'invalid_schema',
    detail: `imprint: must not be the ${imprint === ballotId ? 'ballot' : "voter's"} id (the ballot box would name its voter)`,
    partial: { electionId: ballot.electionId, voterId: ballot.voterId, ballotId: ballot.ballotId },
  }
}

const BALLOT_KEYS = ['v', 'ballotId', 'electionId', 'voterId', 'candidateId', 'regionId', 'channel', 'castAt'] as const
// The rule z.uuid() itself applies (the ballot id's schema): one definition of a UUID.
const UUID_PATTERN = z.regexes.uuid()
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const isId = (v: unknown): v is string => typeof v === 'string' && v.length <= ID_MAX_LENGTH && ID_PATTERN.test(v)

/**
 * The ballot as every producer of ours writes it, accepted without the schema's parse (a
 * third of the tally's decoding CPU): exactly the eight fields, the ids by the id rule, a
 * UUID of a known version, and castAt already in its canonical form (UTC, milliseconds).
 * It accepts nothing the schema refuses and returns what the schema would; anything else,
 * valid or not, goes through the schema (a property test holds the two together).
 */
export function acceptCanonicalBallot(json: unknown): Ballot | undefined {
  return acceptEnvelope(json, BALLOT_KEYS, 1, (o) => (isId(o.candidateId) ? { candidateId: o.candidateId } : undefined)) as
    | Ballot
    | undefined
}

const BALLOT_V2_KEYS = ['v', 'ballotId', 'electionId', 'voterId', 'regionId', 'channel', 'castAt', 'marks'] as const

/**
 * A version-2 ballot as our producers write it, accepted without the schema's parse (the
 * schema's record of arrays of unions was the largest part of the tally's CPU per long
 * ballot): the envelope as for version 1, and marks that are all selection ids (or ranks of them) within the
 * limits. A ballot with a name written in, or anything unusual, goes through the schema.
 */
export function acceptCanonicalBallotV2(json: unknown): BallotV2 | undefined {
  return acceptEnvelope(
    json,
    BALLOT_V2_KEYS,
    2,
    (o) => {
      const imprint = o.imprint
      if (imprint !== undefined && (typeof imprint !== 'string' || !IMPRINT_PATTERN.test(imprint))) return undefined
      const marks = o.marks
      if (typeof marks !== 'object' || marks === null || Array.isArray(marks) || Object.getPrototypeOf(marks) !== Object.prototype)
        return undefined
      const out: Record<string, Mark[]> = {}
      let contests = 0
      let total = 0
      for (const contestId in marks) {
        if (!Object.hasOwn(marks, contestId) || !isId(contestId)) return undefined
        const made = (marks as Record<string, unknown>)[contestId]
        if (!Array.isArray(made) || made.length > CONTEST_LIMITS.marksPerContest) return undefined
        for (const m of made) {
          if (isId(m)) total++
          else if (Array.isArray(m) && m.length <= CONTEST_LIMITS.selectionsPerContest && m.every(isId)) total += m.length
          else return undefined
        }
        contests++
        out[contestId] = made as Mark[]
      }
      if (contests > CONTEST_LIMITS.contests || total > CONTEST_LIMITS.marksPerBallot) return undefined
      return imprint === undefined ? { marks: out } : { marks: out, imprint: (imprint as string).toLowerCase() }
    },
    ['imprint'],
  ) as BallotV2 | undefined
}

/** The fields both versions share, checked as the schema checks them; `rest` checks and returns the others. */
function acceptEnvelope(
  json: unknown,
  keysAllowed: readonly string[],
  version: 1 | 2,
  rest: (o: Record<string, unknown>) => Record<string, unknown> | undefined,
  optionalKeys: readonly string[] = [],
): AnyBallot | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined
  const o = json as Record<string, unknown>
  let keys = 0
  for (const k in o) {
    if (!Object.hasOwn(o, k)) return undefined
    if (optionalKeys.includes(k)) continue
    if (!keysAllowed.includes(k)) return undefined
    else keys++
  }
  if (keys !== keysAllowed.length || o.v !== version) return undefined
  const { ballotId, electionId, voterId, regionId, channel, castAt } = o
  if (typeof ballotId !== 'string' || !UUID_PATTERN.test(ballotId)) return undefined
  if (!isId(electionId) || !isId(voterId) || !isId(regionId)) return undefined
  if (typeof channel !== 'string' || !(CHANNELS as readonly string[]).includes(channel)) return undefined
  if (typeof castAt !== 'string' || !CANONICAL_INSTANT.test(castAt)) return undefined
  const ms = Date.parse(castAt)
  // Canonical means it reads back the same: no 24:00, no 31 June, no leap second.
  if (!Number.isFinite(ms) || ms < CAST_AT_MIN || ms > CAST_AT_MAX || new Date(ms).toISOString() !== castAt) return undefined
  const others = rest(o)
  if (!others) return undefined
  // In the schema's key order (v, ballotId, electionId, voterId, [candidateId,] regionId, …).
  const { candidateId, marks, imprint } = others as { candidateId?: string; marks?: Marks; imprint?: string }
  return {
    v: version,
    ballotId: ballotId.toLowerCase(),
    electionId,
    voterId,
    ...(candidateId !== undefined ? { candidateId } : {}),
    regionId,
    channel: channel as Channel,
    castAt,
    ...(marks !== undefined ? { marks } : {}),
    ...(imprint !== undefined ? { imprint } : {}),
  } as AnyBallot
}

/** Keeps what can be attributed (election, voter, ballot id) from an invalid ballot, if it is well-formed. */
function attribute(json: unknown): Attribution | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const o = json as Record<string, unknown>
  return { electionId: safeId(o.electionId), voterId: safeId(o.voterId), ballotId: ballotIdSchema.safeParse(o.ballotId).data }
}

/** An id from an untrusted place (a header, a broken ballot), or undefined if it breaks the id rule. */
export function safeId(value: unknown): string | undefined {
  return idSchema.safeParse(value).data
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f]/g
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * Text from an untrusted place made fit for a text column and a log line: no NUL (which
 * PostgreSQL refuses) nor other control characters, no lone surrogates, bounded length.
 */
export function safeText(text: string, max = 500): string {
  const clean = text.replace(CONTROL_CHARACTERS, '\uFFFD').replace(LONE_SURROGATES, '\uFFFD')
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}
