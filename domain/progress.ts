import { z } from 'zod'

/** Where an election's workflow is: the phase of its lifecycle it drives. */
export const ELECTION_PHASES = ['open', 'closing', 'closed', 'certified'] as const
export type ElectionPhase = (typeof ELECTION_PHASES)[number]

/**
 * The election workflow's state, carried across continue-as-new and reported by its
 * progress query; the API documents and returns exactly this.
 */
export const electionStateSchema = z.object({
  phase: z.enum(ELECTION_PHASES),
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
