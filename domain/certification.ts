import { z } from 'zod'
import { DEFAULT_MIN_CELL_BALLOTS } from './contest-results.ts'
import type { LedgerRow } from './ledger.ts'

/**
 * The certification checklist: what must hold before an election certifies, each item
 * decided from evidence the system holds and shown with that evidence. An election
 * certifies only when every item passes; otherwise it stays `closed` with the failing
 * items named, until an operator fixes the cause and asks for the checks again.
 */
export const CERTIFICATION_ITEMS = {
  ledger_balanced: 'Every message on the votes topic is accounted for (counted, rejected or a duplicate), position by position',
  recount_equal: 'A recount of the raw ballots equals the running counts',
  counted_to_close: 'Every partition is counted up to the mark taken when the polls closed',
  no_log_gaps: 'No gap in the log since the election opened (no position deleted or re-created before it was read)',
  turnout_within_roll: 'No region has more ballots than voters on its roll or declared for it',
  race_calls_agree: 'Every standing race call (the election, each region, each contest seat and measure) agrees with the final count',
  ranked_rounds_recounted:
    "Every ranked-choice contest's rankings, counted again from the ballot box, equal the rankings its rounds are tabulated from",
  one_partition_per_voter:
    "Each voter's ballots lie on one partition of the votes topic, so the first in the log is the one counted (its partition count kept since the polls opened)",
} as const
export type CertificationItemId = keyof typeof CERTIFICATION_ITEMS

/**
 * Items a board may adjudicate: what the count is exact about but the system cannot decide
 * (which of a voter's two ballots counts, when the log's order does not say). Items the
 * system proves or disproves from its own evidence are never adjudicated.
 */
export const ADJUDICABLE_ITEMS = ['one_partition_per_voter'] as const satisfies readonly CertificationItemId[]
export const adjudicationSchema = z.object({
  item: z.enum(ADJUDICABLE_ITEMS),
  /** Why the board accepts the count as it stands: public, in the certification check. Never a voter's id. */
  reason: z.string().trim().min(10).max(2000),
})
export type AdjudicationInput = z.infer<typeof adjudicationSchema>

export const certificationItemSchema = z.object({
  id: z.enum(Object.keys(CERTIFICATION_ITEMS) as [CertificationItemId, ...CertificationItemId[]]),
  title: z.string(),
  passed: z.boolean(),
  /** The evidence, in words: what was compared, and what failed. */
  detail: z.string(),
})
export type CertificationItem = z.infer<typeof certificationItemSchema>

export const certificationCheckSchema = z.object({
  passed: z.boolean(),
  checkedAt: z.string(),
  items: z.array(certificationItemSchema),
})
export type CertificationCheck = z.infer<typeof certificationCheckSchema>

/** What the checks read, gathered by the certification activity. */
export interface CertificationEvidence {
  ledger: LedgerRow[]
  /** Cells where a recount of the ballots differs from the running counts, after the final reconciliation. */
  differences: number
  /** Cells the final reconciliation had to repair. */
  repaired: number
  /** The end of each partition when the polls closed (null: never closed). */
  closeMarks: Record<string, string> | null
  /** The tally's stored offset per partition. */
  stored: Record<string, string>
  gaps: Array<{ partition: number; from: string; to: string; kind: string; detail: string }>
  /** Regions whose counted ballots exceed their roll or their declared registered voters. */
  overTurnout: Array<{ regionId: string; ballots: number; roll: number; declared: number }>
  regionsChecked: number
  /** Standing calls (of the election, a region, a contest's seat or measure) that the final count does not bear out: which call, and why. */
  wrongCalls: Array<{ call: string; reason: string }>
  standingCalls: number
  /**
   * Calls made and then retracted while counting (a call the later count contradicted): they
   * do not hold the election — a retraction is permanent, and the count is not wrong for it —
   * but the item names them, so a wrong call made in public is on the record of the check.
   */
  retractedCalls?: Array<{ call: string; reason: string }>
  /** Per ranked-choice contest: its rounds over the public rankings, and where a recount of the box's rankings differs. */
  rankedContests?: Array<{
    contestId: string
    ballots: number
    /** Ballots that rank anyone (not blank): under the minimum cell, the contest's winner is not named here. */
    ranking: number
    rounds: number
    elected: string | null
    differences: string[]
  }>
  /** The election's smallest public cell: a ranked contest with fewer ranking ballots is not named (DEFAULT_MIN_CELL_BALLOTS when absent). */
  minCellBallots?: number
  /** The partition count of `votes` when the polls opened (null: not recorded: opened before 0049 or without the workflow). */
  partitionsAtOpen?: number | null
  /** Voters with another ballot on a partition other than their counted one's (lib/db/polls.ts votersOnTwoPartitions). */
  votersOnTwoPartitions?: number
  /** The board's decisions on adjudicable items (db/migrations/0051), oldest first. */
  adjudications?: Array<AdjudicationInput & { adjudicatedAt: string }>
}

const MAX_LISTED = 5
const listed = <T>(xs: T[], show: (x: T) => string) =>
  xs.slice(0, MAX_LISTED).map(show).join('; ') + (xs.length > MAX_LISTED ? `; and ${xs.length - MAX_LISTED} more` : '')

/** Decides every item of the checklist from its evidence. Pure: the same evidence, the same verdict. */
export function checkCertification(e: CertificationEvidence, checkedAt: Date): CertificationCheck {
  const item = (id: CertificationItemId, passed: boolean, detail: string): CertificationItem => ({
    id,
    title: CERTIFICATION_ITEMS[id],
    passed,
    detail,
  })
  const sum = (k: 'messages' | 'counted' | 'rejected' | 'duplicates' | 'skipped') => e.ledger.reduce((n, r) => n + BigInt(r[k]), 0n)
  const unbalanced = e.ledger.filter((r) => !r.balanced || !r.contiguous)
  const behind = e.closeMarks ? Object.entries(e.closeMarks).filter(([p, mark]) => BigInt(e.stored[p] ?? '0') < BigInt(mark)) : []
  const items = [
    item(
      'ledger_balanced',
      e.ledger.length > 0 && unbalanced.length === 0,
      e.ledger.length === 0
        ? 'no ledger rows for the votes topic: nothing shows the messages were accounted for'
        : unbalanced.length > 0
          ? `partitions out of balance: ${listed(unbalanced, (r) => `partition ${r.partition}: ${r.messages} messages against ${r.counted} counted + ${r.rejected} rejected + ${r.duplicates} duplicates; next offset ${r.nextOffset} against ${r.messages} messages + ${r.skipped} skipped + ${r.gapped} never read`)}`
          : `${e.ledger.length} partitions, ${sum('messages')} messages = ${sum('counted')} counted + ${sum('rejected')} rejected + ${sum('duplicates')} duplicates; ${sum('skipped')} transaction markers or aborted records skipped`,
    ),
    item(
      'recount_equal',
      e.differences === 0,
      e.differences === 0
        ? `the recount equals the running counts in every cell${e.repaired > 0 ? ` (the final reconciliation repaired ${e.repaired} cells first)` : ''}`
        : `${e.differences} cells differ between the recount and the running counts`,
    ),
    item(
      'counted_to_close',
      e.closeMarks !== null && behind.length === 0,
      e.closeMarks === null
        ? 'the polls have no close marks: they were never closed'
        : behind.length > 0
          ? `partitions not counted to their mark: ${listed(behind, ([p, mark]) => `partition ${p} at ${e.stored[p] ?? '0'} of ${mark}`)}`
          : `${Object.keys(e.closeMarks).length} partitions counted to their close marks`,
    ),
    item(
      'no_log_gaps',
      e.gaps.length === 0,
      e.gaps.length === 0
        ? 'no gap recorded in the log since the election opened'
        : `gaps: ${listed(e.gaps, (g) => `partition ${g.partition} [${g.from}, ${g.to}) ${g.kind}: ${g.detail}`)}`,
    ),
    item(
      'turnout_within_roll',
      e.overTurnout.length === 0,
      e.overTurnout.length === 0
        ? `${e.regionsChecked} regions: ballots within the roll and the declared registered voters in each`
        : `regions over 100 %: ${listed(e.overTurnout, (r) => `${r.regionId}: ${r.ballots} ballots, ${r.roll} on the roll, ${r.declared} declared`)}`,
    ),
    item(
      'race_calls_agree',
      e.wrongCalls.length === 0,
      e.wrongCalls.length === 0
        ? `${e.standingCalls} standing calls, each borne out by the final count` +
            ((e.retractedCalls ?? []).length > 0
              ? `; retracted while counting: ${listed(e.retractedCalls ?? [], (c) => `${c.call} (${c.reason})`)}`
              : '; none retracted')
        : `calls the count does not bear out: ${listed(e.wrongCalls, (c) => `${c.call} (${c.reason})`)}`,
    ),
    rankedItem(e.rankedContests ?? []),
    partitionsItem(),
  ]
  return { passed: items.every((i) => i.passed), checkedAt: checkedAt.toISOString(), items }

  /**
   * A voter's ballots must share a partition (they are keyed by voter), or "the first in
   * the log counts" means nothing for them. Partitions added while the polls were open
   * break that only for voters who then cast again: the change is named, and fails the item
   * only when such a voter exists (which of their ballots counted is then arbitrary).
   */
  function partitionsItem(): CertificationItem {
    const atClose = e.closeMarks ? Object.keys(e.closeMarks).length : null
    const atOpen = e.partitionsAtOpen ?? null
    const split = e.votersOnTwoPartitions ?? 0
    const shape =
      atOpen === null
        ? `${atClose ?? 'no'} partitions at the close (the count at the open was not recorded)`
        : atClose !== null && atClose !== atOpen
          ? `the votes topic had ${atOpen} partitions when the polls opened and ${atClose} when they closed`
          : `${atOpen} partitions from the open to the close`
    const decided = (e.adjudications ?? []).filter((a) => a.item === 'one_partition_per_voter').at(-1)
    if (split > 0 && decided)
      return item(
        'one_partition_per_voter',
        true,
        `${split} voter${split === 1 ? "'s" : "s'"} ballots lie on two partitions (which counted was not decided by the log's order): adjudicated ${decided.adjudicatedAt}: ${decided.reason}; ${shape}`,
      )
    if (split > 0)
      return item(
        'one_partition_per_voter',
        false,
        `${split} voter${split === 1 ? "'s" : "s'"} ballots lie on two partitions, so which of them counted was not decided by the log's order; ${shape}; a board may adjudicate it (POST /elections/{id}/certification/adjudications), then check again`,
      )
    return item('one_partition_per_voter', true, `no voter's ballots on two partitions; ${shape}`)
  }

  function rankedItem(ranked: NonNullable<CertificationEvidence['rankedContests']>): CertificationItem {
    const min = e.minCellBallots ?? DEFAULT_MIN_CELL_BALLOTS
    const off = ranked.filter((c) => c.differences.length > 0)
    if (ranked.length === 0) return item('ranked_rounds_recounted', true, 'no ranked-choice contest on the ballot')
    if (off.length > 0)
      return item(
        'ranked_rounds_recounted',
        false,
        `rankings that differ from the box: ${listed(off, (c) => `contest ${c.contestId}: ${c.differences.join('; ')}`)}`,
      )
    return item(
      'ranked_rounds_recounted',
      true,
      `${ranked.length} ranked contests, rankings equal to the box's and to the first choices counted: ${listed(ranked, (c) =>
        c.ranking < min
          ? `${c.contestId}: fewer than ${min} ballots rank anyone (not shown)`
          : `${c.contestId}: ${c.ballots} ballots, ${c.rounds} rounds, ${c.elected ?? 'no one'} elected`,
      )}`,
    )
  }
}
