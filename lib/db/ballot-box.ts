import { randomInt } from 'node:crypto'
import type { Channel, Marks } from '../../domain/ballot.ts'
import type { ContestOutcome } from '../../domain/tabulation.ts'
import type { Db } from './sql.ts'

/** A counted ballot of an election with contests: what goes into the ballot box and the counts. */
export interface BoxedBallot {
  electionId: string
  partition: number
  regionId: string
  channel: Channel
  styleId: string
  marks: Marks
  contests: ContestOutcome[]
}

/**
 * In the counting transaction (after finishBatch took the version): the ballots' marks go
 * into the pending ballot box in an order unrelated to arrival (a uniform shuffle from the
 * system's CSPRNG), and the running counts per contest × selection × region × channel ×
 * partition and the ballots, undervotes and overvotes per contest cell grow by what they
 * carry. Nothing written here names a voter, a log position or a time.
 */
export async function countIntoBallotBox(tx: Db, version: string, ballots: BoxedBallot[]): Promise<void> {
  if (ballots.length === 0) return
  const shuffled = [...ballots]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[shuffled[i], shuffled[j]] = [shuffled[j] as BoxedBallot, shuffled[i] as BoxedBallot]
  }
  const { votes, cells } = aggregate(ballots)
  await tx`
    with pending as (
      insert into ballot_box_pending (election_id, style_id, region_id, channel, marks)
      select e, s, r, c, m::jsonb
      from unnest(${shuffled.map((b) => b.electionId)}::text[], ${shuffled.map((b) => b.styleId)}::text[],
                  ${shuffled.map((b) => b.regionId)}::text[], ${shuffled.map((b) => b.channel)}::text[],
                  ${shuffled.map((b) => JSON.stringify(b.marks))}::text[]) with ordinality as t(e, s, r, c, m, n)
      order by n
      returning 1
    ), counts as (
      insert into contest_counts (election_id, contest_id, selection_id, region_id, channel, kafka_partition, votes, version)
      select e, k, s, r, c, p, n, ${version}::bigint
      from unnest(${votes.map((v) => v.e)}::text[], ${votes.map((v) => v.k)}::text[], ${votes.map((v) => v.s)}::text[],
                  ${votes.map((v) => v.r)}::text[], ${votes.map((v) => v.c)}::text[], ${votes.map((v) => v.p)}::int[],
                  ${votes.map((v) => v.n)}::bigint[]) as t(e, k, s, r, c, p, n)
      on conflict (election_id, contest_id, selection_id, region_id, channel, kafka_partition)
      do update set votes = contest_counts.votes + excluded.votes, version = excluded.version
      returning 1
    )
    insert into contest_ballots (election_id, contest_id, region_id, channel, kafka_partition, ballots, undervotes, overvotes, version)
    select e, k, r, c, p, b, u, o, ${version}::bigint
    from unnest(${cells.map((v) => v.e)}::text[], ${cells.map((v) => v.k)}::text[], ${cells.map((v) => v.r)}::text[],
                ${cells.map((v) => v.c)}::text[], ${cells.map((v) => v.p)}::int[], ${cells.map((v) => v.b)}::bigint[],
                ${cells.map((v) => v.u)}::bigint[], ${cells.map((v) => v.o)}::bigint[]) as t(e, k, r, c, p, b, u, o)
    on conflict (election_id, contest_id, region_id, channel, kafka_partition)
    do update set ballots = contest_ballots.ballots + excluded.ballots, undervotes = contest_ballots.undervotes + excluded.undervotes,
                  overvotes = contest_ballots.overvotes + excluded.overvotes, version = excluded.version`
}

/** Pre-aggregated per row (an upsert touches a row once per statement), in key order (no deadlocks between overlapping writers). */
function aggregate(ballots: BoxedBallot[]) {
  const votes = new Map<string, { e: string; k: string; s: string; r: string; c: string; p: number; n: number }>()
  const cells = new Map<string, { e: string; k: string; r: string; c: string; p: number; b: number; u: number; o: number }>()
  for (const b of ballots) {
    for (const o of b.contests) {
      const ck = `${b.electionId}|${o.contestId}|${b.regionId}|${b.channel}|${b.partition}`
      let cell = cells.get(ck)
      if (!cell) {
        cell = { e: b.electionId, k: o.contestId, r: b.regionId, c: b.channel, p: b.partition, b: 0, u: 0, o: 0 }
        cells.set(ck, cell)
      }
      cell.b++
      cell.u += o.undervotes
      cell.o += o.overvoted
      for (const s of o.selections) {
        const vk = `${b.electionId}|${o.contestId}|${s}|${b.regionId}|${b.channel}|${b.partition}`
        let v = votes.get(vk)
        if (!v) {
          v = { e: b.electionId, k: o.contestId, s, r: b.regionId, c: b.channel, p: b.partition, n: 0 }
          votes.set(vk, v)
        }
        v.n++
      }
    }
  }
  const byKey = <V>(m: Map<string, V>) => [...m.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, v]) => v)
  return { votes: byKey(votes), cells: byKey(cells) }
}

/**
 * Moves everything pending into the ballot box, in random order, under random ids drawn
 * now: one transaction per window, so the rows of the box share their transaction id and
 * their place on disk with the window's other ballots, never with the counting batch
 * (and the poll book rows) they came from. Exactly once: the delete and the insert commit
 * together. Returns the ballots moved.
 */
export async function mixBallotBox(db: Db): Promise<number> {
  const [row] = await db<{ moved: number }[]>`
    with moved as (
      delete from ballot_box_pending returning election_id, style_id, region_id, channel, marks
    ), boxed as (
      insert into ballot_box (election_id, id, style_id, region_id, channel, marks)
      select election_id, gen_random_uuid(), style_id, region_id, channel, marks from moved order by random()
      returning 1
    )
    select count(*)::int as moved from boxed`
  return row?.moved ?? 0
}
