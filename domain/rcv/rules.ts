import { z } from 'zod'

/**
 * The rules of one ranked-choice (instant-runoff) contest: what varies between
 * jurisdictions, named as RCTab (the open-source tabulator of the Ranked Choice Voting
 * Resource Center, github.com/BrightSpots/rcv) names its `rules`, so that a jurisdiction's
 * RCTab configuration can be read across field by field:
 *
 * | here                     | RCTab `rules`                          |
 * | ------------------------ | -------------------------------------- |
 * | ranksAllowed             | maxRankingsAllowed                     |
 * | numberElected            | numberOfWinners (winnerElectionMode singleWinnerMajority) |
 * | overvoteRule             | overvoteRule                           |
 * | maxSkippedRanksAllowed   | maxSkippedRanksAllowed                 |
 * | duplicateRankingRule     | exhaustOnDuplicateCandidate (false / true) |
 * | batchElimination         | batchElimination                       |
 * | tiebreakMode, tiebreakSeed | tiebreakMode, randomSeed             |
 *
 * RCTab options left out on purpose: `exhaustIfMultipleContinuing` (an overvote rule no
 * jurisdiction we target uses), `continueUntilTwoCandidatesRemain`, `minimumVoteThreshold`,
 * the multi-winner modes, and the interactive or permutation tie-breaks (a live count
 * cannot stop and ask; a published seed is what the tie-break needs).
 */

export const RANKS_ALLOWED_MAX = 10

export const OVERVOTE_RULES = [
  /** The ballot becomes inactive (cause: overvotes) when the count reaches an overvoted rank. */
  'exhaustImmediately',
  /** The overvoted rank is passed over and the next rank is read, as if the voter had skipped it (it is not counted as a skipped rank). */
  'alwaysSkipToNextRank',
] as const

/**
 * RCTab has one boolean, `exhaustOnDuplicateCandidate` (default false). A flag named for one
 * of its two behaviours reads badly in a contest definition ("false" of what?), so both are
 * named here and map one to one onto RCTab's flag:
 *
 * - `skipDuplicate` (RCTab false): a candidate ranked again is passed over like any other
 *   candidate no longer continuing — the ranking is not lost, the ballot reads on;
 * - `exhaustOnDuplicate` (RCTab true): when the count reaches a candidate already ranked
 *   higher on the ballot, the ballot becomes inactive (cause: repeated rankings).
 */
export const DUPLICATE_RANKING_RULES = ['skipDuplicate', 'exhaustOnDuplicate'] as const

/**
 * - `random`: a tie (for last place, or between the two last candidates) is settled by a
 *   seeded draw (tabulate.ts, `seededDraw`): reproducible by anyone holding the seed.
 * - `previousRoundCountsThenRandom`: the tied candidate with the fewest votes (the most, when
 *   electing) in the round before is chosen, then the round before that, and so on back to
 *   round 1; if still tied, the seeded draw decides among those still tied.
 *
 * Both need `tiebreakSeed`, as RCTab requires `randomSeed` for both: it is published before
 * the count (a seed chosen after the tie is seen is a choice, not a draw).
 */
export const TIEBREAK_MODES = ['random', 'previousRoundCountsThenRandom'] as const

export const rcvRulesSchema = z.strictObject({
  /** How many ranks the ballot offers (New York City: 5; Alaska: 4 or more; San Francisco: 10). */
  ranksAllowed: z.number().int().min(1).max(RANKS_ALLOWED_MAX),
  /**
   * Seats to fill. Only 1 (instant runoff): multi-winner STV (surplus transfers at fractional
   * value, a Droop threshold fixed in round 1) is not supported, and a definition asking for
   * it is refused rather than tabulated as if it were single-winner.
   */
  numberElected: z
    .number()
    .int()
    .refine((n) => n === 1, 'only single-winner instant runoff (numberElected: 1) is supported; multi-winner STV is not')
    .default(1),
  overvoteRule: z.enum(OVERVOTE_RULES),
  /**
   * How many consecutive ranks a voter may leave blank before a later ranking no longer
   * counts: 0 (none), 1 (Maine), …, or 'unlimited' (New York City); RCTab's range, so its
   * configurations read as they are. Blanks after the last ranking are never "skipped":
   * the ballot simply runs out of choices there.
   */
  maxSkippedRanksAllowed: z.union([z.number().int().min(0).max(1_000_000), z.literal('unlimited')]),
  duplicateRankingRule: z.enum(DUPLICATE_RANKING_RULES).default('skipDuplicate'),
  /**
   * Eliminate at once every candidate who cannot win: the lowest candidates whose combined
   * votes are fewer than the votes of the next-lowest candidate (RCTab's rule). The winner is
   * the same as with one elimination per round; the rounds are fewer.
   */
  batchElimination: z.boolean().default(false),
  tiebreakMode: z.enum(TIEBREAK_MODES),
  /** The published seed of the draw: any text, e.g. the numbers of a public dice roll. */
  tiebreakSeed: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
})

/** Rules as tabulation uses them (defaults applied). */
export type RcvRules = z.output<typeof rcvRulesSchema>
/** Rules as a contest definition may give them (defaults optional). */
export type RcvRulesInput = z.input<typeof rcvRulesSchema>
export type OvervoteRule = RcvRules['overvoteRule']
export type DuplicateRankingRule = RcvRules['duplicateRankingRule']
export type TiebreakMode = RcvRules['tiebreakMode']
