import { z } from 'zod'

/**
 * `elections.settings` (jsonb): what an election was created with beyond its rows. The one
 * definition of its shape: written by createElection, parsed where an election row is read
 * (lib/db/elections.ts), never cast. SQL that reads it by JSON path (lib/db/elections.ts,
 * lib/db/benchmark.ts, the expected_ballots view of db/migrations/0020) follows these names.
 */

/** A simulation's parameters: everything the generator needs to produce the same ballots again (domain/simulation.ts). */
export const simulationSettingsSchema = z.object({
  seed: z.number(),
  /** Registered voters on the roll. */
  voters: z.number(),
  /** Share of the roll that votes, 0..1 (overall; each region draws its own around it). */
  turnout: z.number(),
  /** Probability, per valid ballot, of injecting an invalid one after it. */
  invalidShare: z.number(),
  /** Probability, per valid ballot, of the same voter trying again with another ballot. */
  duplicateShare: z.number(),
  /**
   * A long ballot: districts and contests drawn for the simulated country
   * (simulation-contests.ts), ballots of version 2. `ranked`: ballots of version 2 with one
   * ranked-choice contest on the whole map, shaped like New York City's 2021 mayoral primary
   * (13 candidates, 5 ranks; the benchmark's ranked rounds). Otherwise one contest, version 1.
   */
  contests: z.union([z.boolean(), z.literal('ranked')]).optional(),
  /**
   * A tabulation error injected on purpose (a long ballot only), for audits to catch: in
   * this share of the ballots whose paper marks `from` in the contest (and not `to`), the
   * ballot sent to the count marks `to` instead, as a misprogrammed scanner would read it.
   * The count is exact for what it was sent; the papers (the generator's ballots) differ.
   */
  /**
   * The key of the papers' imprints (32 hex digits), drawn at random by the API when it
   * creates a long-ballot simulation: an imprint is an HMAC of the ballot's number under it,
   * so neither the public cast vote records nor the ballot ids (which carry the seed and the
   * number) give it back. Absent: the generator prints no imprints (elections created before).
   */
  imprintKey: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  misread: z
    .object({
      contestId: z.string().min(1).max(200),
      from: z.string().min(1).max(200),
      to: z.string().min(1).max(200),
      share: z.number().gt(0).max(1),
    })
    .optional(),
})
export type SimulationSettings = z.infer<typeof simulationSettingsSchema>

/** Stored beside a simulation's parameters: not the generator's, the run's. */
export const simulationRunSchema = z.object({
  /** The rate the workflow starts producing at (the API's `ratePerSecond`). */
  ratePerSecond: z.number().optional(),
  /** An election of the benchmark (bench/): the benchmark removes its own elections, and only those, when it ends. */
  benchmark: z.boolean().optional(),
})
export type SimulationRun = z.infer<typeof simulationRunSchema>

export const electionSettingsSchema = z.object({
  /** Present for a simulated election only. */
  simulation: simulationSettingsSchema.extend(simulationRunSchema.shape).optional(),
})
export type ElectionSettings = z.infer<typeof electionSettingsSchema>
