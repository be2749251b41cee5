import { z } from 'zod'
import { certificationCheckSchema } from './certification.ts'
import { ledgerRowSchema } from './ledger.ts'

/** One cell where a recount of the raw ballots and the running count disagree. */
export const reconciliationDifferenceSchema = z.object({
  candidateId: z.string(),
  regionId: z.string(),
  channel: z.string(),
  /** Recounted from the ballots. */
  ballots: z.number(),
  /** The running count. */
  tallied: z.number(),
})
export type ReconciliationDifference = z.infer<typeof reconciliationDifferenceSchema>

/**
 * A reconciliation report: the batch recount of an election's raw ballots against its
 * streaming tallies, as stored in `reconciliation_reports`, returned by the reconcile
 * activity and served by GET /elections/{id}/reconciliation. The one definition of its shape.
 */
export const reconciliationReportSchema = z.object({
  electionId: z.string(),
  ranAt: z.string(),
  /** The run at certification (the ledger is taken then only). */
  final: z.boolean(),
  ballots: z.number(),
  tallied: z.number(),
  verdict: z.enum(['match', 'repaired']),
  repaired: z.boolean(),
  /** The differences found (and repaired) by this run. */
  differences: z.array(reconciliationDifferenceSchema),
  /** Per partition of `votes`: messages consumed against counted + rejected + duplicates; taken by the final (certification) run only, null in periodic ones. */
  ledger: z.array(ledgerRowSchema).nullable(),
  ledgerBalanced: z.boolean().nullable(),
})
export type ReconciliationReport = z.infer<typeof reconciliationReportSchema>

/**
 * GET /elections/{id}/reconciliation: the latest report, how many the election has had, and
 * the certification checklist as last run. The API serves exactly this and the simulator
 * (cli/simulate) parses its answer with it: one definition for both sides.
 */
export const reconciliationResponseSchema = reconciliationReportSchema.extend({
  /** Reconciliation runs of the election so far. */
  reports: z.number(),
  /** Those of them that repaired the running counts. */
  repairs: z.number(),
  /** The certification checklist as last run (null before the polls close): see /certification. */
  certification: certificationCheckSchema.nullable(),
})
export type ReconciliationResponse = z.infer<typeof reconciliationResponseSchema>
