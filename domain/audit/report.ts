import { z } from 'zod'
import { idSchema, imprintSchema } from '../ballot.ts'
import { seedSchema } from './sampler.ts'

/**
 * The contracts of a risk-limiting audit run by Temporal (workflows/audit.ts): what an
 * operator asks for, what each round decided and what the audit concluded. One definition
 * each; the API, the activities and the workflow infer their types from these.
 */

/** The largest risk limit an audit may take (Arlo's too): above it the "audit" confirms almost anything. */
export const MAX_RISK_LIMIT = 0.2
/** The smallest: below it no real audit goes, and the round-size arithmetic stops meaning anything. */
export const MIN_RISK_LIMIT = 0.001

export const auditRequestSchema = z.strictObject({
  /** The contests to audit, each once. */
  contestIds: z
    .array(z.string().min(1).max(200))
    .min(1)
    .max(100)
    .refine((ids) => new Set(ids).size === ids.length, 'each contest once'),
  /** α: the largest chance the audit may confirm a wrong outcome, e.g. 0.05. */
  riskLimit: z.number().min(MIN_RISK_LIMIT).max(MAX_RISK_LIMIT),
  /** Dice rolls typed in after the audit files were committed (20–200 digits). */
  seed: seedSchema,
  /**
   * `ballot-polling` (BRAVO: reads each drawn paper) or `ballot-comparison` (super-simple:
   * puts each drawn paper beside its cast vote record, found by the paper's imprint; needs
   * far fewer ballots, and every counted ballot must carry an imprint).
   */
  method: z.enum(['ballot-polling', 'ballot-comparison']).default('ballot-polling'),
  /**
   * Who reads the drawn papers: `simulator` (a simulated election's generator: the default for
   * one) or `board` (auditors enter each paper through the API: the only way for an election
   * with no generator behind it, the default for one).
   */
  papers: z.enum(['simulator', 'board']).optional(),
})
export type AuditRequest = z.infer<typeof auditRequestSchema>

export const AUDIT_METHODS = auditRequestSchema.shape.method.unwrap().options
export type AuditMethod = (typeof AUDIT_METHODS)[number]
export type AuditPapers = NonNullable<AuditRequest['papers']>

/**
 * A board's reading of one drawn paper: per audited contest, the selections marked (a name
 * written in is `write-in`); a contest left out is blank. Or `{ "missing": true }`: the paper
 * was not found where the manifest puts it.
 */
/**
 * A record whose keys are ids, refusing an own `__proto__` key by name: zod leaves such a key
 * out of what it returns (it would set the prototype), so a reading or a count that holds
 * one would otherwise pass with that part silently gone.
 */
const idRecord = <T extends z.ZodType>(values: T) =>
  z.preprocess(
    (v, ctx) => {
      if (typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__'))
        ctx.addIssue({ code: 'custom', message: '__proto__ is not an id', input: v })
      return v
    },
    z.record(idSchema, values),
  )

export const paperEntrySchema = z
  .strictObject({
    // Contest and line ids by the id rule: a key such as `__proto__` is refused by name, not dropped.
    marks: idRecord(z.array(idSchema).max(100)).optional(),
    missing: z.literal(true).optional(),
    /** Comparison audits: the imprint read on the paper found, which must be the one the record names. */
    imprint: imprintSchema.optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.marks === undefined) === (e.missing === undefined))
      ctx.addIssue({ code: 'custom', path: ['marks'], message: 'either the marks read on the paper, or "missing": true' })
  })
export type PaperEntry = z.infer<typeof paperEntrySchema>

/** A board's full hand count: per audited contest, votes per line (selection ids, `write-in`). */
export const handCountSchema = idRecord(idRecord(z.number().int().min(0).max(1_000_000_000)))
export type HandCount = z.infer<typeof handCountSchema>

export const AUDIT_STATUSES = ['running', 'confirmed', 'confirmed-by-full-count', 'outcome-differs', 'failed'] as const
export type AuditStatusName = (typeof AUDIT_STATUSES)[number]

/** One pair of a contest in a round: a reported winner against a reported loser. */
export const auditPairSchema = z.object({
  winner: z.string(),
  loser: z.string(),
  /** Sampled ballots for each side (the sample's, so the admin's: see `publicRound`). */
  winnerBallots: z.number().optional(),
  loserBallots: z.number().optional(),
  /** The measured risk: 1/T (polling) or the Kaplan–Markov P-value (comparison), at most 1. */
  pValue: z.number(),
  /** Comparison: the sample's discrepancies between record and paper (o = overstated the margin, u = understated; 1 or 2 votes). */
  discrepancies: z.object({ o1: z.number(), o2: z.number(), u1: z.number(), u2: z.number() }).optional(),
})

export const auditContestRoundSchema = z.object({
  contestId: z.string(),
  status: z.enum(['confirmed', 'escalate', 'full-hand-count-needed']),
  reason: z.string(),
  pairs: z.array(auditPairSchema),
})
export type AuditContestRound = z.infer<typeof auditContestRoundSchema>

export const auditRoundSchema = z.object({
  round: z.number().int().min(1),
  /** Draws after this round (from the first). */
  draws: z.number().int().min(0),
  contests: z.array(auditContestRoundSchema),
})
export type AuditRound = z.infer<typeof auditRoundSchema>

/**
 * A round as the public report shows it: each pair's status and measured risk, not the
 * sampled ballots behind it — the seed and the manifest are public, so a round's counts
 * would tell how the ballot at a known batch and position voted.
 */
export function publicRound(round: AuditRound): AuditRound {
  return {
    ...round,
    contests: round.contests.map((c) => ({
      ...c,
      pairs: c.pairs.map(({ winner, loser, pValue, discrepancies }) => ({
        winner,
        loser,
        pValue,
        ...(discrepancies ? { discrepancies } : {}),
      })),
    })),
  }
}

export const auditContestOutcomeSchema = z.object({
  contestId: z.string(),
  /** What the count reported: the winners, or `passes`/`fails` for a measure. */
  reported: z.array(z.string()),
  status: z.enum(['confirmed', 'confirmed-by-full-count', 'outcome-differs']),
  reason: z.string(),
  /** Set after a full hand count: what the papers say, and their votes per line. */
  handCount: z.object({ outcome: z.array(z.string()), votes: z.record(z.string(), z.number()) }).optional(),
})

export const auditResultSchema = z.object({
  status: z.enum(['confirmed', 'confirmed-by-full-count', 'outcome-differs']),
  rounds: z.number().int(),
  draws: z.number().int(),
  /** Distinct ballots retrieved (a ballot drawn twice is retrieved once). */
  ballots: z.number().int(),
  contests: z.array(auditContestOutcomeSchema),
})
export type AuditResult = z.infer<typeof auditResultSchema>

/** The audit as the API reports it (public: no ballot's marks; the sample is the admin's). */
export const auditReportSchema = z.object({
  auditId: z.string(),
  electionId: z.string(),
  method: z.enum(AUDIT_METHODS),
  papers: z.enum(['simulator', 'board']),
  contestIds: z.array(z.string()),
  riskLimit: z.number(),
  seed: z.string(),
  /** The audit files' commitment the sample was drawn against (GET /elections/{id}/audit). */
  commitment: z.string(),
  status: z.enum(AUDIT_STATUSES),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  rounds: z.array(auditRoundSchema),
  result: auditResultSchema.nullable(),
})
export type AuditReport = z.infer<typeof auditReportSchema>
