import { z } from 'zod'
import { ELECTION_STATUSES } from './election.ts'

/**
 * The election workflow's state, carried across continue-as-new and reported by its
 * progress query; the API documents and returns exactly this.
 */
export const electionStateSchema = z.object({
  /**
   * The election's status (domain/election.ts) as the workflow drives it: the workflow
   * starts at open, so never draft. Not a second lifecycle: it is set when the workflow
   * enters a step, so it can be one activity ahead of the stored status (closing before
   * closePolls stores it) or behind it (closed, certified after the activity stored them).
   */
  phase: z.enum(ELECTION_STATUSES).exclude(['draft']),
  paused: z.boolean(),
  stopRequested: z.boolean(),
  rate: z.number(),
  /** The generator's next ballot number. */
  nextIndex: z.number(),
  ballotCount: z.number(),
  /** Messages sent to `votes` (valid, duplicate and invalid ballots). */
  produced: z.number(),
  /** The end of every `votes` partition when the polls closed: counting is done when reached. */
  highWater: z.record(z.string(), z.string()),
  counted: z.number(),
  rejected: z.number(),
  runs: z.number(),
  /** The checklist items that hold certification back (empty once all pass; absent before the first run). */
  certificationFailing: z.array(z.string()).optional(),
})
export type ElectionState = z.infer<typeof electionStateSchema>

export const electionProgressSchema = electionStateSchema.extend({ electionId: z.string(), producing: z.boolean() })
export type ElectionProgress = z.infer<typeof electionProgressSchema>
