import type { Db } from './sql.ts'

export interface PurgedBenchmarks {
  elections: number
  ballots: number
  voters: number
}

/**
 * Deletes what earlier benchmark runs left: their elections with everything counted for
 * them, and the positions, rejections and duplicates recorded on the benchmark's own topics
 * (which no election official's tally reads). A full sweep writes about three million
 * ballots and as many voters; kept run after run, they filled the disk of the machine
 * that measured them, and every later run measured a database grown by the earlier ones.
 *
 * One transaction: a purge cut short leaves the data as it was, and the message ledger of
 * the topics purged balances before and after (the positions go with what they became).
 */
export async function purgeBenchmarkData(db: Db, topics: string[]): Promise<PurgedBenchmarks> {
  const [row] = await db<PurgedBenchmarks[]>`
    with doomed as (
      -- Created by \`bun run bench\` alone: an id it chose and the flag it stores with the
      -- simulation settings (the API cannot set that flag).
      select id from elections
      where id like 'bench-%' and coalesce((settings #>> '{simulation,benchmark}')::boolean, false)
    ), ballots_gone as (
      delete from ballots where election_id in (select id from doomed) or kafka_topic = any(${topics}::text[]) returning 1
    ), rejected_gone as (
      delete from rejected_ballots where election_id in (select id from doomed) or topic = any(${topics}::text[]) returning 1
    ), duplicates_gone as (
      delete from duplicate_ballots where election_id in (select id from doomed) or topic = any(${topics}::text[]) returning 1
    ), counts_gone as (
      delete from tally_counts where election_id in (select id from doomed) returning 1
    ), trend_gone as (
      delete from trend_buckets where election_id in (select id from doomed) returning 1
    ), totals_gone as (
      delete from election_totals where election_id in (select id from doomed) returning 1
    ), outbox_gone as (
      delete from ballot_outbox where election_id in (select id from doomed) returning 1
    ), receipts_gone as (
      delete from cast_receipts where election_id in (select id from doomed) returning 1
    ), offsets_gone as (
      delete from consumer_offsets where topic = any(${topics}::text[]) returning 1
    ), voters_gone as (
      -- The roll by hand (its foreign key is to regions, which the election's delete
      -- cascades to), so that its size can be reported.
      delete from voters where election_id in (select id from doomed) returning 1
    ), elections_gone as (
      delete from elections where id in (select id from doomed) returning 1
    )
    select
      (select count(*)::int from elections_gone) as elections,
      (select count(*)::int from ballots_gone) as ballots,
      (select count(*)::int from voters_gone) as voters`
  return { elections: row?.elections ?? 0, ballots: row?.ballots ?? 0, voters: row?.voters ?? 0 }
}
