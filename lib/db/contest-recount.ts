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
export async function recountContests(db: Db, electionId: string) {
  const differences = await db<ContestDifference[]>`
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
    select contest_id, line, region_id, channel, coalesce(r.n, 0)::float8 as recounted, coalesce(c.n, 0)::float8 as running
    from (select * from recounted where n > 0) r full join (select * from running where n > 0) c using (contest_id, line, region_id, channel)
    where r.n is distinct from c.n
    limit 1000`
  const [summary] = await db<{ cells: number; unbalanced: number; ballots: number }[]>`
    with cells as (
      select b.contest_id, b.region_id, b.channel, sum(b.ballots) as ballots, sum(b.undervotes) as under, sum(b.overvotes) as over
      from contest_ballots b where b.election_id = ${electionId} group by 1, 2, 3
    ), votes as (
      select contest_id, region_id, channel, sum(votes) as votes from contest_counts where election_id = ${electionId} group by 1, 2, 3
    )
    select count(*)::float8 as cells,
           count(*) filter (where coalesce(v.votes, 0) + c.under + c.over * k.votes_allowed <> c.ballots * k.votes_allowed)::float8 as unbalanced,
           coalesce(sum(c.ballots), 0)::float8 as ballots
    from cells c join contests k on k.election_id = ${electionId} and k.id = c.contest_id
    left join votes v using (contest_id, region_id, channel)`
  return { differences, cells: summary?.cells ?? 0, unbalanced: summary?.unbalanced ?? 0, contestBallots: summary?.ballots ?? 0 }
}
