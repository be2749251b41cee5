import { randomInt } from 'node:crypto'
import type { Channel, Marks } from '../../domain/ballot.ts'
import { styleTotals, type VectorRow } from '../../domain/count-vector.ts'
import type { Db, Sql } from './sql.ts'

/** A counted ballot of an election with contests, as it goes into the ballot box: no voter, no position, no time. */
export interface BoxedBallot {
  electionId: string
  regionId: string
  channel: Channel
  styleId: string
  marks: Marks
  /** The paper's imprint (domain/ballot.ts), for a comparison audit; null when the ballot has no paper. */
  imprint: string | null
}

/**
 * In the counting transaction, before finishBatch takes the results version (nothing here
 * carries one, so the election's results lock need not be held while it is written; the
 * transaction still commits under that lock, so no reader sees it before its version): the
 * ballots' marks go into the pending ballot box in an order unrelated to arrival (a uniform
 * shuffle from the system's CSPRNG), and each style × partition's total grows by the
 * batch's sums (`style_totals`, what snapshots read: db/migrations/0038). The rows are
 * keyed by partition, and a partition is in one counting transaction at a time: no row lock
 * is waited for here. Nothing written here names a voter, a log position or a time.
 */
export async function boxBallots(tx: Db, ballots: BoxedBallot[], vectors: VectorRow[]): Promise<void> {
  if (ballots.length === 0) return
  const shuffled = [...ballots]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[shuffled[i], shuffled[j]] = [shuffled[j] as BoxedBallot, shuffled[i] as BoxedBallot]
  }
  const totals = styleTotals(vectors)
  await tx`
    with totals as (
      insert into style_totals (election_id, style_id, kafka_partition, counts)
      select e, s, p, v::int[]
      from unnest(${totals.map((t) => t.electionId)}::text[], ${totals.map((t) => t.styleId)}::text[],
                  ${totals.map((t) => t.partition)}::int[], ${totals.map((t) => `{${t.counts.join(',')}}`)}::text[]) as t(e, s, p, v)
      on conflict (election_id, style_id, kafka_partition) do update set counts = vec_add(style_totals.counts, excluded.counts)
      returning 1
    ), pending as (
      insert into ballot_box_pending (election_id, style_id, region_id, channel, marks, imprint)
      select e, s, r, c, m::jsonb, i
      from unnest(${shuffled.map((b) => b.electionId)}::text[], ${shuffled.map((b) => b.styleId)}::text[],
                  ${shuffled.map((b) => b.regionId)}::text[], ${shuffled.map((b) => b.channel)}::text[],
                  ${shuffled.map((b) => JSON.stringify(b.marks))}::text[],
                  ${shuffled.map((b) => b.imprint)}::text[]) with ordinality as t(e, s, r, c, m, i, n)
      order by n
      returning 1
    )
    select (select count(*) from totals) + (select count(*) from pending) as written`
}

/**
 * In the counting transaction, after finishBatch took the version: each region × channel ×
 * partition's count vector grows by the sum of the batch's ballots there
 * (domain/count-vector.ts; one row per region, not one per contest × selection), stamped
 * with the batch's version.
 */
export async function addCountVectors(tx: Db, version: string, vectors: VectorRow[]): Promise<void> {
  if (vectors.length === 0) return
  await tx`
    insert into style_counts (election_id, region_id, channel, kafka_partition, style_id, counts, version)
    select e, r, c, p, s, v::int[], ${version}::bigint
    from unnest(${vectors.map((v) => v.electionId)}::text[], ${vectors.map((v) => v.regionId)}::text[],
                ${vectors.map((v) => v.channel)}::text[], ${vectors.map((v) => v.partition)}::int[],
                ${vectors.map((v) => v.styleId)}::text[], ${vectors.map((v) => `{${v.counts.join(',')}}`)}::text[]) as t(e, r, c, p, s, v)
    on conflict (election_id, region_id, channel, kafka_partition)
    do update set counts = vec_add(style_counts.counts, excluded.counts), version = excluded.version`
}

/**
 * Moves everything pending into the ballot box, in random order, under random ids drawn
 * now: one transaction per window, so the rows of the box share their transaction id and
 * their place on disk with the window's other ballots, never with the counting batch
 * (and the poll book rows) they came from. The same transaction adds the window's rankings
 * of ranked-choice contests to those held back (`rcv_rankings_held`, 0047) and moves a
 * contest's held rankings to `rcv_rankings`, which the public rounds read, once they come
 * from its election's smallest public cell of ballots or more (or, for `finalElection`,
 * whatever is held): the rounds never move by one ballot's ranking. Exactly once: the delete and the inserts
 * commit together. Returns the ballots moved.
 */
export async function mixBallotBox(
  sql: Sql,
  options: {
    /** Skip (return 0) unless this many ballots are pending: a window that ends on count or on a pause is never small. */
    atLeast?: number
    /** Wait for a mix in progress instead of skipping (the final mix: everything pending must be moved). */
    wait?: boolean
    /** An election whose counting has finished: its held rankings all go public now (its certified rounds are exact). */
    finalElection?: string
    /** The ballots a contest's rankings must come from before they go public: each election's minCellBallots unless given (tests). */
    minRankingBallots?: number
  } = {},
): Promise<number> {
  return sql.begin(async (tx) => {
    // One mixer at a time, whichever tally instance runs it: two at once would split a window.
    if (options.wait) await tx`select pg_advisory_xact_lock(hashtextextended('ballot-box-mixer', 0))`
    else {
      const [lock] = await tx<{ got: boolean }[]>`select pg_try_advisory_xact_lock(hashtextextended('ballot-box-mixer', 0)) as got`
      if (!lock?.got) return 0
    }
    if (options.atLeast) {
      const [pending] = await tx<{ n: number }[]>`select count(*)::int as n from ballot_box_pending`
      if ((pending?.n ?? 0) < options.atLeast) return 0
    }
    const moved = await moveWindow(tx)
    await releaseRankings(tx, options.minRankingBallots ?? null, options.finalElection ?? null)
    return moved
  })
}

/**
 * An election's held rankings, all public at once: called as its counting finishes (in the
 * transaction that closes it), when its public results become the exact counts. Waits for a
 * mix in progress, so none of the election's rankings is left held behind it.
 */
export async function releaseHeldRankings(tx: Db, electionId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended('ballot-box-mixer', 0))`
  // As a final mix of the election releases them (no other election's).
  await releaseRankings(tx, null, electionId)
}

async function moveWindow(db: Db): Promise<number> {
  const [row] = await db<{ moved: number }[]>`
    with moved as (
      delete from ballot_box_pending returning election_id, style_id, region_id, channel, marks, imprint
    ), boxed as (
      insert into ballot_box (election_id, id, style_id, region_id, channel, marks, imprint)
      select election_id, gen_random_uuid(), style_id, region_id, channel, marks, imprint from moved order by random()
      returning 1
    ), ranked as (
      -- Each ranked contest on a moved ballot's style: its ranking ('[]' when left blank), held back first.
      insert into rcv_rankings_held (election_id, contest_id, ranking, ranking_sha256, ballots)
      select election_id, contest_id, ranking, sha256(convert_to(ranking, 'UTF8')), n from (
        select m.election_id, k.id as contest_id, coalesce(m.marks -> k.id, '[]'::jsonb)::text as ranking, count(*) as n
        from moved m
        join ballot_styles s on s.election_id = m.election_id and s.id = m.style_id
        join contests k on k.election_id = m.election_id and k.id = any(s.contests) and k.rcv is not null
        group by 1, 2, 3
      ) r
      order by 1, 2, 4
      on conflict (election_id, contest_id, ranking_sha256) do update set ballots = rcv_rankings_held.ballots + excluded.ballots
      returning 1
    )
    select count(*)::int as moved from boxed`
  return row?.moved ?? 0
}

/**
 * Moves held rankings to `rcv_rankings`: all those of `finalElection` or of an election
 * whose counting has finished (its public results are exact from then on), and, unless
 * `finalElection` is given, every contest's whose held ballots reach its election's
 * smallest public cell (`min` instead, when given: the tests' one-ballot moves). The close
 * and the worker's final mix release their election's only: the tallies' mixes release
 * the others, and the close's transaction stays its election's.
 */
async function releaseRankings(db: Db, min: number | null, finalElection: string | null): Promise<void> {
  await db`
    with due as (
      -- A ranked ballot adds one ranking to its contest (blank: '[]'), so the held rankings' ballots are the ballots held.
      select h.election_id, h.contest_id from rcv_rankings_held h join elections e on e.id = h.election_id
      group by 1, 2, e.counted_version, e.min_cell_ballots
      having (${finalElection}::text is null and sum(h.ballots) >= coalesce(${min}::integer, e.min_cell_ballots))
          or h.election_id = ${finalElection}::text or e.counted_version is not null
    ), released as (
      delete from rcv_rankings_held h using due d
      where h.election_id = d.election_id and h.contest_id = d.contest_id
      returning h.election_id, h.contest_id, h.ranking, h.ranking_sha256, h.ballots
    )
    insert into rcv_rankings (election_id, contest_id, ranking, ranking_sha256, ballots)
    select election_id, contest_id, ranking, ranking_sha256, ballots from released
    order by 1, 2, 4
    on conflict (election_id, contest_id, ranking_sha256) do update set ballots = rcv_rankings.ballots + excluded.ballots`
}

/** One distinct ranking of a ranked contest and the ballots that carry it: `ranking` is the box's JSON text. */
export interface RankingCount {
  ranking: string
  ballots: number
}

/**
 * The rankings of one ranked contest mixed into the box so far and released: what public
 * outputs (the rounds served, the results export) are tabulated from. They move a mixing
 * window at a time, never a counting batch at a time, and by the election's smallest public
 * cell of ranking ballots or more (mixBallotBox), so consecutive reads never differ by one
 * voter's ranking (at most a window and that minimum less one behind the count; exact once
 * the election's final mix ran).
 */
export async function mixedRankings(db: Db, electionId: string, contestId: string): Promise<RankingCount[]> {
  return db<RankingCount[]>`
    select ranking, ballots::float8 as ballots from rcv_rankings where election_id = ${electionId} and contest_id = ${contestId}`
}

/**
 * The running rankings of one ranked contest: those mixed into the box (`rcv_rankings`, and
 * those held back from it) and those still pending, merged: every ballot counted, for the
 * writer of the race calls and certification (never served as they are). Pending rows are at most one mixing window, read by their
 * election's index.
 */
export async function runningRankings(db: Db, electionId: string, contestId: string): Promise<RankingCount[]> {
  return db<RankingCount[]>`
    select ranking, sum(n)::float8 as ballots from (
      select ranking, ballots as n from rcv_rankings where election_id = ${electionId} and contest_id = ${contestId}
      union all
      select ranking, ballots from rcv_rankings_held where election_id = ${electionId} and contest_id = ${contestId}
      union all
      select coalesce(p.marks -> ${contestId}::text, '[]'::jsonb)::text, count(*)
      from ballot_box_pending p join ballot_styles s on s.election_id = p.election_id and s.id = p.style_id
      where p.election_id = ${electionId} and ${contestId}::text = any(s.contests)
      group by 1
    ) x group by ranking`
}

/**
 * The rankings of one ranked contest counted again from the ballots in the box (and any
 * pending), not from `rcv_rankings`: the recount's side of certification.
 */
export async function recountedRankings(db: Db, electionId: string, contestId: string): Promise<RankingCount[]> {
  return db<RankingCount[]>`
    select coalesce(x.marks -> ${contestId}::text, '[]'::jsonb)::text as ranking, count(*)::float8 as ballots
    from (select election_id, style_id, marks from ballot_box where election_id = ${electionId}
          union all select election_id, style_id, marks from ballot_box_pending where election_id = ${electionId}) x
    join ballot_styles s on s.election_id = x.election_id and s.id = x.style_id
    where ${contestId}::text = any(s.contests)
    group by 1`
}

/**
 * The rankings of one ranked contest among the ballots of one region mixed into the box:
 * the precinct's "as if" rounds (as Alaska publishes them). A scan of the election's box
 * (no index by region: one would cost every mix), so served on request, not on a feed.
 */
export async function regionRankings(db: Db, electionId: string, contestId: string, regionId: string): Promise<RankingCount[]> {
  return db<RankingCount[]>`
    select coalesce(b.marks -> ${contestId}::text, '[]'::jsonb)::text as ranking, count(*)::float8 as ballots
    from ballot_box b join ballot_styles s on s.election_id = b.election_id and s.id = b.style_id
    where b.election_id = ${electionId} and b.region_id = ${regionId} and ${contestId}::text = any(s.contests)
    group by 1`
}

/** A ranked contest's rounds as Grafana reads them (migration 0031): one row per round × continuing candidate. */
export interface StoredRoundTally {
  round: number
  candidateId: string
  votes: number
  status: 'continuing' | 'eliminated' | 'elected'
}

/** Replaces a ranked contest's stored rounds (the caller holds the election's results lock: one writer). */
export async function storeRoundTallies(
  tx: Db,
  electionId: string,
  contestId: string,
  rankingBallots: number,
  rows: StoredRoundTally[],
): Promise<void> {
  await tx`delete from rcv_round_tallies where election_id = ${electionId} and contest_id = ${contestId}`
  if (rows.length === 0) return
  await tx`
    insert into rcv_round_tallies (election_id, contest_id, round, candidate_id, votes, status, ranking_ballots)
    select ${electionId}, ${contestId}, r, c, v, s, ${rankingBallots}
    from unnest(${rows.map((x) => x.round)}::int[], ${rows.map((x) => x.candidateId)}::text[],
                ${rows.map((x) => x.votes)}::bigint[], ${rows.map((x) => x.status)}::text[]) as t(r, c, v, s)`
}

/**
 * How far a ranked contest's public rounds trail its count (the benchmark's sampler): the
 * ballots counted that carried the contest, and those its mixed rankings hold.
 */
export async function rankedContestProgress(db: Db, electionId: string, contestId: string): Promise<{ counted: number; inRounds: number }> {
  const [row] = await db<{ counted: number; inRounds: number }[]>`
    select (select coalesce(sum(ballots), 0) from contest_ballots where election_id = ${electionId} and contest_id = ${contestId})::float8 as counted,
           (select coalesce(sum(ballots), 0) from rcv_rankings where election_id = ${electionId} and contest_id = ${contestId})::float8 as in_rounds`
  return row ?? { counted: 0, inRounds: 0 }
}
