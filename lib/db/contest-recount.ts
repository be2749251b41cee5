import { BALLOTS_KEY, WRITE_IN_SELECTION } from '../../domain/contests.ts'
import type { Db } from './sql.ts'

/** A cell where the recount of the ballot box and the running counts disagree. */
export interface ContestDifference {
  contestId: string
  /** A selection id, or `:ballots`, `:undervotes`, `:overvotes` for the cell's other counts. */
  line: string
  regionId: string
  channel: string
  recounted: number
  running: number
}

/**
 * Recounts every contest from the ballot box (mixed and pending alike), in SQL, apart from
 * the counter's code: for each ballot, each contest of its style; more marks than allowed
 * is an overvote, fewer are undervotes, a name written in counts on the write-in line.
 * Compares each contest × line × region × channel with the running counts, and checks the
 * invariant on the running counts of every cell. Call it in one snapshot (repeatable read).
 */
export async function recountContests(db: Db, electionId: string, options: { fromBallotBox: boolean } = { fromBallotBox: true }) {
  // The recount reads every ballot's marks (seconds per 100,000 ballots): the final
  // reconciliation and the certification do it; periodic runs check the invariant only.
  const differences = !options.fromBallotBox
    ? []
    : await db<ContestDifference[]>`
    with box as (
      select style_id, region_id, channel, marks from ballot_box where election_id = ${electionId}
      union all
      select style_id, region_id, channel, marks from ballot_box_pending where election_id = ${electionId}
    ), judged as (
      select b.region_id, b.channel, k.id as contest_id, k.votes_allowed,
             coalesce(b.marks -> k.id, '[]'::jsonb) as made,
             jsonb_array_length(coalesce(b.marks -> k.id, '[]'::jsonb)) as n
      from box b
      join ballot_styles s on s.election_id = ${electionId} and s.id = b.style_id
      cross join lateral unnest(s.contests) as on_style(contest_id)
      join contests k on k.election_id = ${electionId} and k.id = on_style.contest_id
    ), recounted as (
      select contest_id, ${BALLOTS_KEY}::text as line, region_id, channel, count(*) as n from judged group by 1, 2, 3, 4
      union all
      select contest_id, ':undervotes', region_id, channel, sum(greatest(votes_allowed - n, 0) * (n <= votes_allowed)::int)
      from judged group by 1, 2, 3, 4
      union all
      select contest_id, ':overvotes', region_id, channel, sum((n > votes_allowed)::int) from judged group by 1, 2, 3, 4
      union all
      select contest_id, case when jsonb_typeof(m) = 'string' then m #>> '{}' else ${WRITE_IN_SELECTION} end, region_id, channel, count(*)
      from judged cross join lateral jsonb_array_elements(made) as m where n <= votes_allowed group by 1, 2, 3, 4
    ), running as (
      select contest_id, ${BALLOTS_KEY}::text as line, region_id, channel, sum(ballots) as n
      from contest_ballots where election_id = ${electionId} group by 1, 2, 3, 4
      union all
      select contest_id, ':undervotes', region_id, channel, sum(undervotes) from contest_ballots where election_id = ${electionId} group by 1, 2, 3, 4
      union all
      select contest_id, ':overvotes', region_id, channel, sum(overvotes) from contest_ballots where election_id = ${electionId} group by 1, 2, 3, 4
      union all
      select contest_id, selection_id, region_id, channel, sum(votes) from contest_counts where election_id = ${electionId} group by 1, 2, 3, 4
    )
    -- One grouping over both sides, not a join: the planner's estimates of these CTEs are
    -- far off, and a nested loop over hundreds of thousands of cells never ends.
    select contest_id, line, region_id, channel, sum(r)::float8 as recounted, sum(c)::float8 as running
    from (select contest_id, line, region_id, channel, n as r, 0 as c from recounted
          union all select contest_id, line, region_id, channel, 0, n from running) x
    group by 1, 2, 3, 4
    having sum(r) <> sum(c)
    order by 1, 2, 3, 4
    limit 1000`
  const [summary] = await db<{ cells: number; unbalanced: number; ballots: number }[]>`
    with cells as (
      select contest_id, region_id, channel, sum(b) as ballots, sum(u) as under, sum(o) as over, sum(v) as votes
      from (select contest_id, region_id, channel, ballots as b, undervotes as u, overvotes as o, 0 as v
            from contest_ballots where election_id = ${electionId}
            union all
            select contest_id, region_id, channel, 0, 0, 0, votes from contest_counts where election_id = ${electionId}) x
      group by 1, 2, 3
    )
    select count(*)::float8 as cells,
           count(*) filter (where c.votes + c.under + c.over * k.votes_allowed <> c.ballots * k.votes_allowed)::float8 as unbalanced,
           coalesce(sum(c.ballots), 0)::float8 as ballots
    from cells c join contests k on k.election_id = ${electionId} and k.id = c.contest_id`
  return { differences, cells: summary?.cells ?? 0, unbalanced: summary?.unbalanced ?? 0, contestBallots: summary?.ballots ?? 0 }
}
