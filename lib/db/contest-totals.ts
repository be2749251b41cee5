import type { LegacyBallots, LegacyVotes, RegionTurnout, StyleSum } from '../../domain/contest-totals.ts'
import type { ContestRules } from '../../domain/contests.ts'
import type { StyleLayouts } from '../../domain/count-vector.ts'
import { loadCountLayouts, loadDefinitions } from './contests.ts'
import type { Db } from './sql.ts'

/**
 * What an election's contest totals are folded from (domain/contest-totals.ts), read in the
 * caller's snapshot; null for an election without contests.
 *
 * The vectors are read summed per ballot style, as counting and the releases keep them
 * (`style_totals`, `released_style_totals`: db/migrations/0038), and not cell by cell: a
 * county election has ~18,000 vectors (1,000 precincts × 3 channels × 6 partitions) of
 * ~120 integers, and adding them up on every read took seconds of the database's CPU per
 * snapshot. A style's total has a row per partition (a few per style, a few hundred styles);
 * one unnest-and-group pass adds them. Element-wise sums are valid because all vectors of a
 * style share its layout (`style_contests`).
 *
 * The running ballots per region (for the ballots still outstanding in each contest) come
 * from `tally_counts`, where every counted ballot of an election with contests is one
 * BALLOTS_KEY vote of its region, in the same transaction as its vector: the same number
 * the contest's own ballots give in each of its regions.
 */
export async function readContestTotalsInput(
  db: Db,
  electionId: string,
  /**
   * `public`: what the public may see (released while counting, db/migrations/0033) — the
   * results snapshot; `counted`: the counts themselves — race calls, certification, audits.
   */
  counts: 'public' | 'counted',
): Promise<{
  contests: ContestRules[]
  layouts: StyleLayouts
  styles: StyleSum[]
  legacyBallots: LegacyBallots[]
  legacyVotes: LegacyVotes[]
  regions: RegionTurnout[]
} | null> {
  const definition = (await loadDefinitions(db, [electionId])).get(electionId)
  if (!definition) return null
  // Issued together: postgres.js pipelines them on the transaction's connection.
  const [layouts, styles, legacyBallots, legacyVotes, regions] = await Promise.all([
    loadCountLayouts(db, [electionId]),
    db<StyleSum[]>`
      select style_id, array_agg(n order by i) as counts
      from (
        select v.style_id, u.i, sum(u.x)::float8 as n
        from ${db(counts === 'public' ? 'public_style_totals' : 'style_totals')} v cross join lateral unnest(v.counts) with ordinality as u(x, i)
        where v.election_id = ${electionId}
        group by v.style_id, u.i
      ) s
      group by style_id`,
    db<LegacyBallots[]>`
      select contest_id, sum(ballots)::float8 as ballots, sum(undervotes)::float8 as undervotes, sum(overvotes)::float8 as overvotes
      from contest_ballots_legacy where election_id = ${electionId} group by 1`,
    db<LegacyVotes[]>`
      select contest_id, selection_id, sum(votes)::float8 as votes
      from contest_counts_legacy where election_id = ${electionId} group by 1, 2`,
    db<RegionTurnout[]>`
      select r.id, r.style_id, r.registered_voters, coalesce(t.ballots, 0)::float8 as ballots
      from regions r
      left join (select region_id, sum(votes) as ballots from tally_counts where election_id = ${electionId} group by 1) t
        on t.region_id = r.id
      where r.election_id = ${electionId} and r.style_id is not null`,
  ])
  return {
    contests: definition.contests,
    layouts: layouts.get(electionId) ?? new Map(),
    styles,
    legacyBallots,
    legacyVotes,
    regions,
  }
}
