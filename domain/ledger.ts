import { z } from 'zod'

/**
 * One partition's line of the message ledger: the positions a consumer group accounted for
 * against what they became. Read from the `message_ledger` view; stored in the final
 * reconciliation report and judged by the certification checklist.
 */
export const ledgerRowSchema = z.object({
  groupId: z.string(),
  topic: z.string(),
  partition: z.number().int(),
  /** The next position to account for (int8, as text). */
  nextOffset: z.string(),
  messages: z.string(),
  counted: z.string(),
  rejected: z.string(),
  duplicates: z.string(),
  /** Positions the broker did not hand over (transaction markers, aborted records). */
  skipped: z.string(),
  /** Positions never read (recorded in log_gaps). */
  gapped: z.string(),
  /** messages = counted + rejected + duplicates */
  balanced: z.boolean(),
  /** next offset = messages + skipped + gapped: no position unaccounted for */
  contiguous: z.boolean(),
})
export type LedgerRow = z.infer<typeof ledgerRowSchema>
