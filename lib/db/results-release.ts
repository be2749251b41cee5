import { BALLOTS_KEY } from '../../domain/contests.ts'
import { type CellProgress, cellsToRelease, MAX_CELLS_PER_RELEASE } from '../../domain/results-release.ts'
import type { Db, Sql } from './sql.ts'
import { takeResultsVersion } from './versions.ts'

/**
 * Releases what is due of an election's counts to the public (domain/results-release.ts,
 * db/migrations/0033_released_counts.sql). Run by the results publisher, the one writer of
 * released counts, before it builds a snapshot. Returns the cells released.
 *
 * The cells due are found first without a lock (most rounds release nothing, and the
 * counting batches of the election must not wait for a scan of its vectors); the ones
 * found are read again under the election's results lock and released with a new results
 * version, so a follower of `?since=N` sees the release, and a second publisher (a lease
 * that moved while the first was frozen) never releases a cell in a step smaller than
 * `step`. At most `maxCells` a round (domain/results-release.ts MAX_CELLS_PER_RELEASE):
 * the rest wait for the next. `step`: the election's smallest public cell
 * (`elections.min_cell_ballots`) unless given (the tests' one-ballot steps).
 */
export async function releaseCounts(sql: Sql, electionId: string, step?: number, maxCells = MAX_CELLS_PER_RELEASE): Promise<number> {
  if (step === undefined) {
    const [election] = await sql<{ min: number }[]>`select min_cell_ballots as min from elections where id = ${electionId}`
    if (!election) return 0
    return releaseCounts(sql, electionId, election.min, maxCells)
  }
  // Counting batches of the election wait for the lock below: scan without it first, and
  // take at most maxCells (the most behind): the lock is held while they are summed.
  const candidates = cellsToRelease(await cellProgress(sql, electionId), step, maxCells)
  if (candidates.length === 0) return 0
  return sql.begin(async (tx) => {
    // The election's row before its results lock, in the order counting and the status
    // changes take them (they hold the row, then wait for the lock: the other order
    // deadlocks with a close). Key share waits for a status change in flight and lets
    // counting (for share) go on. Once counting has finished the public reads the counts
    // themselves: nothing is released, and no version is taken.
    const [row] = await tx<{ counted: boolean }[]>`
      select counted_version is not null as counted from elections where id = ${electionId} for key share`
    if (!row || row.counted) return 0
    const version = await takeResultsVersion(tx, [electionId])
    const due = cellsToRelease(await cellProgress(tx, electionId, candidates), step)
    if (due.length === 0) return 0
    const regions = due.map((c) => c.regionId)
    const channels = due.map((c) => c.channel)
    const dueCells = tx`select * from unnest(${regions}::text[], ${channels}::text[]) as d(region_id, channel)`
    // The public total of each style moves by what this release changes in its cells (new
    // copy minus old, each summed per style with vec_sum: about half the time of adding them
    // up element by element, 210 against 384 ms for 757 cells), before the old copies go.
    // The new side reads style_counts as the insert below does: counting for this election
    // waits for the results lock held here, so both statements see the same counts.
    await tx`
      insert into released_style_totals (election_id, style_id, counts)
      select ${electionId}, coalesce(n.style_id, o.style_id),
             case when o.counts is null then n.counts
                  when n.counts is null then array(select -x from unnest(o.counts) with ordinality as u(x, i) order by i)
                  else vec_add(n.counts, array(select -x from unnest(o.counts) with ordinality as u(x, i) order by i)) end
      from (select v.style_id, vec_sum(v.counts) as counts
            from style_counts v join (${dueCells}) due on v.region_id = due.region_id and v.channel = due.channel
            where v.election_id = ${electionId} group by 1) n
      full join (select r.style_id, vec_sum(r.counts) as counts
                 from released_style_counts r join (${dueCells}) due on r.region_id = due.region_id and r.channel = due.channel
                 where r.election_id = ${electionId} group by 1) o using (style_id)
      order by 2
      on conflict (election_id, style_id) do update set counts = vec_add(released_style_totals.counts, excluded.counts)`
    // Replaced whole (every partition's row of the cell), in two statements: a data-modifying
    // CTE does not see a sibling's delete.
    await tx`
      delete from released_style_counts r using (${dueCells}) due
      where r.election_id = ${electionId} and r.region_id = due.region_id and r.channel = due.channel`
    await tx`
      insert into released_style_counts (election_id, region_id, channel, kafka_partition, style_id, counts, version)
      select v.election_id, v.region_id, v.channel, v.kafka_partition, v.style_id, v.counts, ${version}::bigint
      from style_counts v join (${dueCells}) due on v.region_id = due.region_id and v.channel = due.channel
      where v.election_id = ${electionId}`
    await tx`
      insert into released_cells (election_id, region_id, channel, ballots, version)
      select ${electionId}, *, ${version}::bigint from unnest(${regions}::text[], ${channels}::text[], ${due.map((c) => c.live)}::bigint[])
      on conflict (election_id, region_id, channel) do update set ballots = excluded.ballots, version = excluded.version`
    await tx`
      insert into results_releases (election_id, version) values (${electionId}, ${version}::bigint)
      on conflict (election_id) do update set version = excluded.version, released_at = now()`
    return due.length
  })
}

/**
 * Each region × channel whose counted ballots differ from those its public copy was taken
 * at, all of them or only `only`'s. Counted ballots: tally_counts' BALLOTS_KEY rows (every
 * counted ballot of an election with contests is one, written with its vector); released:
 * `released_cells` (db/migrations/0036), written by the release.
 */
async function cellProgress(
  db: Db,
  electionId: string,
  only?: ReadonlyArray<Pick<CellProgress, 'regionId' | 'channel'>>,
): Promise<CellProgress[]> {
  const regions = only ? only.map((c) => c.regionId) : null
  const channels = only ? only.map((c) => c.channel) : null
  const within = (alias: string) =>
    only ? db`and (${db(alias)}.region_id, ${db(alias)}.channel) in (select * from unnest(${regions}::text[], ${channels}::text[]))` : db``
  return db<CellProgress[]>`
    select region_id, channel, coalesce(l.ballots, 0)::float8 as live, coalesce(r.ballots, 0)::float8 as released
    from (select t.region_id, t.channel, sum(t.votes) as ballots from tally_counts t
          where t.election_id = ${electionId} and t.candidate_id = ${BALLOTS_KEY} ${within('t')} group by 1, 2) l
    full join (select w.region_id, w.channel, w.ballots from released_cells w
               where w.election_id = ${electionId} ${within('w')}) r using (region_id, channel)
    where coalesce(l.ballots, 0) <> coalesce(r.ballots, 0)`
}
