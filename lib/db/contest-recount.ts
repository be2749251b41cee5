import {
  addRunningVectors,
  addToStyleSum,
  compareGrids,
  type Grid,
  newGrid,
  type RecountDefinition,
  recountBallot,
  type StyleTotalDifference,
  styleTotalDifferences,
  type VectorRowStored,
} from '../../domain/recount.ts'
import type { Db, Sql } from './sql.ts'
import { takeResultsVersion } from './versions.ts'

export type { ContestDifference, StyleTotalDifference } from '../../domain/recount.ts'

/**
 * Recounts every contest from the ballot box (mixed and pending alike) and compares each
 * contest × line × region × channel with the running counts; checks the invariant of every
 * running cell. The tabulation is domain/recount.ts, written apart from the counter's.
 * The ballots stream through a cursor (a million ballots are hundreds of megabytes of
 * marks); call it in one snapshot (repeatable read), so both sides see the same commit.
 * With `fromBallotBox: false` only the invariant is checked (the periodic runs).
 */
export async function recountContests(db: Db, electionId: string, options: { fromBallotBox: boolean } = { fromBallotBox: true }) {
  const definition = await readRecountDefinition(db, electionId)
  const styleSums = new Map<string, number[]>()
  const running = await readRunningCells(db, electionId, definition, styleSums)
  const storedTotals = await db<{ styleId: string; counts: number[] }[]>`
    select style_id, counts from style_totals where election_id = ${electionId}`
  let recounted: Grid | null = null
  if (options.fromBallotBox) {
    const recount = newGrid(definition)
    const cursor = db<{ styleId: string; regionId: string; channel: string; marks: string }[]>`
      select style_id, region_id, channel, marks::text as marks from ballot_box where election_id = ${electionId}
      union all
      select style_id, region_id, channel, marks::text from ballot_box_pending where election_id = ${electionId}`.cursor(5000)
    for await (const rows of cursor) for (const row of rows) recountBallot(recount, definition, row)
    recounted = recount
  }
  return {
    ...compareGrids(recounted, running),
    styleTotals: styleTotalDifferences(styleSums, storedTotals),
    releasedStyleTotals: await releasedTotalDifferences(db, electionId),
  }
}

/**
 * Each style's public total while counting (released_style_totals, moved by every release)
 * against the sum of its released cells (released_style_counts, what the contest pages,
 * the export and Grafana read): apart, the snapshot and the pages would disagree. Streamed
 * and summed here, as the running cells are; nothing once counting finished (the public
 * then reads the counts themselves).
 */
async function releasedTotalDifferences(db: Db, electionId: string): Promise<StyleTotalDifference[]> {
  const sums = new Map<string, number[]>()
  const cells = db<{ styleId: string; counts: number[] }[]>`
    select style_id, counts from released_style_counts where election_id = ${electionId}`.cursor(5000)
  for await (const rows of cells) for (const row of rows) addToStyleSum(sums, row)
  const stored = await db<{ styleId: string; counts: number[] }[]>`
    select style_id, counts from released_style_totals where election_id = ${electionId}`
  return styleTotalDifferences(sums, stored)
}

/**
 * Rebuilds an election's style totals, counted and released, from the cells they sum (the
 * reconciliation's repair when the recount found them apart: a tally of an older release
 * counting after 0038, a hand in psql). Under the election's results lock, so no counting
 * batch or release of the election is in between. The version moves as for any repair, so
 * the documents cached at the old one are built again.
 */
export async function rebuildStyleTotals(sql: Sql, electionId: string): Promise<void> {
  await sql.begin(async (tx) => {
    // The election's row first, then its results lock: the order counting takes them in
    // (the other order deadlocks with a batch holding the row while it waits for the lock).
    await tx`select from elections where id = ${electionId} for no key update`
    const version = await takeResultsVersion(tx, [electionId])
    await tx`delete from style_totals where election_id = ${electionId}`
    await tx`
      insert into style_totals (election_id, style_id, kafka_partition, counts)
      select election_id, style_id, kafka_partition, vec_sum(counts) from style_counts
      where election_id = ${electionId} group by 1, 2, 3`
    await tx`delete from released_style_totals where election_id = ${electionId}`
    await tx`
      insert into released_style_totals (election_id, style_id, counts)
      select election_id, style_id, vec_sum(counts) from released_style_counts
      where election_id = ${electionId} group by 1, 2`
    await tx`update elections set version = greatest(version, ${version}::bigint) where id = ${electionId}`
  })
}

/** The definition as stored: each style's contests, each contest's votes allowed, write-in line and selections. */
async function readRecountDefinition(db: Db, electionId: string): Promise<RecountDefinition> {
  const styles = await db<{ id: string; contests: string[] }[]>`
    select id, contests from ballot_styles where election_id = ${electionId}`
  const contests = await db<{ id: string; votesAllowed: number; writeIns: boolean; ranked: boolean; selections: string[] }[]>`
    select c.id, c.votes_allowed, c.write_ins, c.rcv is not null as ranked,
           coalesce((select array_agg(s.id order by s.position) from contest_selections s
                     where s.election_id = c.election_id and s.contest_id = c.id), '{}') as selections
    from contests c where c.election_id = ${electionId}`
  return {
    styles: new Map(styles.map((s) => [s.id, s.contests])),
    contests: new Map(
      contests.map((c) => [c.id, { votesAllowed: c.votesAllowed, writeIns: c.writeIns, ranked: c.ranked, selections: c.selections }]),
    ),
  }
}

/** The running counts per cell: the stored vectors through the stored layout, plus what 0015's tables kept. */
async function readRunningCells(
  db: Db,
  electionId: string,
  definition: RecountDefinition,
  /** Filled with each style's vectors summed: what its stored total must equal. */
  styleSums: Map<string, number[]>,
): Promise<Grid> {
  const layoutRows = await db<{ styleId: string; contestId: string; at: number }[]>`
    select style_id, contest_id, at from style_contests where election_id = ${electionId} order by style_id, at`
  const layout = new Map<string, Array<{ contestId: string; at: number }>>()
  for (const r of layoutRows) {
    let list = layout.get(r.styleId)
    if (!list) {
      list = []
      layout.set(r.styleId, list)
    }
    list.push({ contestId: r.contestId, at: r.at })
  }
  const cells = newGrid(definition)
  const vectors = db<VectorRowStored[]>`
    select region_id, channel, style_id, counts from style_counts where election_id = ${electionId}`.cursor(5000)
  for await (const rows of vectors) {
    addRunningVectors(cells, rows, layout)
    for (const row of rows) addToStyleSum(styleSums, row)
  }
  const legacy = await db<{ contestId: string; line: string; regionId: string; channel: string; n: number }[]>`
    select contest_id, selection_id as line, region_id, channel, sum(votes)::float8 as n
    from contest_counts_legacy where election_id = ${electionId} group by 1, 2, 3, 4
    union all
    select contest_id, x.line, region_id, channel, sum(x.n)::float8
    from contest_ballots_legacy
    cross join lateral (values (':ballots', ballots), (':undervotes', undervotes), (':overvotes', overvotes)) as x(line, n)
    where election_id = ${electionId} group by 1, 2, 3, 4`
  for (const c of legacy) cells.addNamed(c.contestId, c.line, c.regionId, c.channel, c.n)
  return cells
}
