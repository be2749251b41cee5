import { z } from '@hono/zod-openapi'
import { CHANNELS, ID_MAX_LENGTH, ID_PATTERN, ID_RULE } from '../../domain/ballot.ts'
import { adjudicationSchema } from '../../domain/certification.ts'
import { minCellBallotsSchema } from '../../domain/contest-results.ts'
import { electionDefinitionSchema } from '../../domain/contests.ts'
import { ELECTION_STATUSES } from '../../domain/election.ts'
import { simulationSettingsSchema } from '../../domain/election-settings.ts'
import { electionProgressSchema } from '../../domain/progress.ts'
import { RATE_LIMITS } from '../../domain/rates.ts'
import { resultsSnapshotSchema } from '../../domain/results.ts'
import { SIMULATION_LIMITS as L } from '../../domain/simulation-limits.ts'

/** Request and response shapes of the API; the OpenAPI document is generated from these. */

/** A JSON response of `schema` for a route definition. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } })

// Built here with the OpenAPI-aware zod (zod 4 gives each schema its methods when it is
// made, so one made in the domain before this module loaded has no .openapi); the rule
// itself is the domain's.
const id = z.string().min(1).max(ID_MAX_LENGTH).regex(ID_PATTERN, ID_RULE)
const rate = z.number().min(RATE_LIMITS.min).max(RATE_LIMITS.max)
/** Names people read: no control characters (NUL included), which a text column or a page would choke on. */
const text = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')

/** A 400 naming the repeated id, for lists whose ids must be unique. */
const uniqueIds = (field: string) => (items: Array<{ id: string }> | undefined, ctx: z.RefinementCtx) => {
  const seen = new Set<string>()
  for (const [i, item] of (items ?? []).entries()) {
    if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [field, i, 'id'], message: `${item.id} appears twice` })
    seen.add(item.id)
  }
}

export const ElectionIdParam = z.object({
  id: id.openapi({ param: { name: 'id', in: 'path' }, example: 'demo-2026' }),
})

export const CandidateInput = z.object({ id, name: text, party: text.optional() })
export const RegionInput = z.object({
  id,
  name: text,
  state: text,
  registeredVoters: z.number().int().min(0).max(100_000_000),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
})

export const SimulationInput = z
  .object({
    voters: z.number().int().min(L.voters.min).max(L.voters.max).default(L.voters.default),
    turnout: z.number().gt(0).max(L.turnout.max).default(L.turnout.default),
    invalidShare: z.number().min(0).max(L.invalidShare.max).default(L.invalidShare.default),
    duplicateShare: z.number().min(0).max(L.duplicateShare.max).default(L.duplicateShare.default),
    seed: z.number().int().min(0).max(L.seed.max).default(L.seed.default),
    ratePerSecond: rate.default(L.ratePerSecond.default),
    candidates: z.number().int().min(L.candidates.min).max(L.candidates.max).default(L.candidates.default),
    regions: z.number().int().min(L.regions.min).max(L.regions.max).default(L.regions.default),
    /** A long ballot: districts and contests drawn for the simulated country (ballots of version 2). */
    contests: z.boolean().default(false),
    /** An injected tabulation error for an audit to catch (domain/election-settings.ts). */
    misread: simulationSettingsSchema.shape.misread,
  })
  .openapi('SimulationSettings')

export const CreateElection = z
  .object({
    id: id.optional(),
    name: text,
    /** A simulated election generates its own candidates, regions and roll from these settings. */
    simulation: SimulationInput.optional(),
    candidates: z.array(CandidateInput).min(2).max(50).optional(),
    regions: z.array(RegionInput).min(1).max(5000).optional(),
    /** Districts and contests: a ballot of many contests (version 2). Instead of `candidates`. */
    definition: electionDefinitionSchema.optional(),
    reconcileEverySeconds: z.number().int().min(1).max(86_400).default(30),
    start: z.boolean().default(true),
    /** A test election (logic and accuracy testing, training): TEST on every page, IsTest in every export. Simulations always are. */
    test: z.boolean().default(false),
    minCellBallots: minCellBallotsSchema.optional().openapi({
      description:
        "The election's smallest public cell: results, feeds, exports and Grafana hide a region or channel with fewer ballots, and public counts and ranked rounds move by at least this many. Fixed at creation; at least, and by default, API_RESULTS_MIN_CELL_BALLOTS (10).",
    }),
  })
  .refine((e) => e.simulation || ((e.candidates || e.definition) && e.regions), {
    message: 'give either simulation settings or regions with candidates or a definition',
  })
  .refine((e) => !(e.candidates && e.definition), { message: 'give candidates or a definition, not both', path: ['definition'] })
  .superRefine((e, ctx) => {
    uniqueIds('candidates')(e.candidates, ctx)
    uniqueIds('regions')(e.regions, ctx)
  })
  .openapi('CreateElection')

/** The workflow's progress: its one definition lives in the domain. */
export const Progress = z.object(electionProgressSchema.shape).openapi('Progress')

export const Election = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(ELECTION_STATUSES),
    simulated: z.boolean(),
    test: z.boolean(),
    createdAt: z.string(),
    openedAt: z.string().nullable(),
    closedAt: z.string().nullable(),
    certifiedAt: z.string().nullable(),
    /** The smallest public cell, fixed at creation. */
    minCellBallots: z.number(),
    progress: Progress.nullable(),
    links: z.record(z.string(), z.string()),
  })
  .openapi('Election')

export const SetRate = z.object({ ratePerSecond: rate }).openapi('SetRate')

/** A board's adjudication of a certification item: its one definition lives in the domain. */
export const Adjudication = z.object(adjudicationSchema.shape).openapi('Adjudication')

/** The results snapshot: its one definition lives in the domain. */
export const Snapshot = z.object(resultsSnapshotSchema.shape).openapi('ResultsSnapshot')

export const RegisterVoters = z
  .object({
    voters: z
      .array(z.object({ id, regionId: id }))
      .min(1)
      .max(10_000),
  })
  .superRefine((r, ctx) => uniqueIds('voters')(r.voters, ctx))
  .openapi('RegisterVoters')

export const CastBallot = z.object({ candidateId: id, channel: z.enum(CHANNELS).default('election_day') }).openapi('CastBallot')

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string().optional(),
    errors: z.unknown().optional(),
  })
  .openapi('Problem')

export const problemResponses = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      code,
      { description: PROBLEM_TEXT[code] ?? 'problem', content: { 'application/problem+json': { schema: Problem } } },
    ]),
  )

const PROBLEM_TEXT: Record<number, string> = {
  400: 'invalid input',
  401: 'missing or wrong credentials',
  404: 'no such election',
  409: 'conflicts with the election state',
  413: 'body too large',
}
