import type { Db, Sql } from './sql.ts'

export interface PurgedBenchmarks {
  elections: number
  ballots: number
  voters: number
  /** Benchmark elections left in place because some of their ballots came through other topics. */
  kept: string[]
}

/** Held by a benchmark run for as long as it runs: a second run, or a purge, waits for none and refuses. */
const BENCHMARK_LOCK = 4_242_001

/**
 * Takes the benchmark's lock on a connection of its own for as long as the run lasts;
 * returns its release, or null when another run holds it.
 */
export async function lockBenchmark(sql: Sql): Promise<(() => Promise<void>) | null> {
  const conn = await sql.reserve()
  const [row] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(${BENCHMARK_LOCK}) as locked`
  if (!row?.locked) {
    conn.release()
    return null
  }
  return async () => {
    await conn`select pg_advisory_unlock(${BENCHMARK_LOCK})`
    conn.release()
  }
}

/**
 * Deletes what benchmark runs left: their elections with everything counted for them, and
 * the benchmark topics' consumer positions and the rejections there that belong to no
 * election. A full sweep writes about three million ballots and as many voters; kept run
 * after run, they filled the disk of the machine that measured them, and every later run
 * measured a database grown by the earlier ones.
 *
 * Only the benchmark's own: an election counts as one when `bun run bench` made it (an id
 * it chose and the flag it stores with the simulation settings, which the API cannot set)
 * and none of its ballots, rejections or duplicates came through another topic (those
 * would leave that topic's message ledger short; such an election is kept and named).
 * Rows another election has on a benchmark topic stay with that election. The positions go
 * first, so the ledger never compares them with half-deleted rows; then one transaction
 * per election, so a first purge of a grown database is not one huge transaction.
 */
export async function purgeBenchmarkData(sql: Sql, topics: string[], options: { electionIds?: string[] } = {}): Promise<PurgedBenchmarks> {
  await sql`delete from consumer_offsets where topic = any(${topics}::text[])`
  await sql`delete from rejected_ballots where election_id is null and topic = any(${topics}::text[])`
  const benchmarkElections = await sql<{ id: string; elsewhere: boolean }[]>`
    select e.id,
      exists (select from ballots b where b.election_id = e.id and b.kafka_topic <> all(${topics}::text[]))
        or exists (select from rejected_ballots r where r.election_id = e.id and r.topic <> all(${topics}::text[]))
        or exists (select from duplicate_ballots d where d.election_id = e.id and d.topic <> all(${topics}::text[])) as elsewhere
    from elections e
    where e.id like 'bench-%' and coalesce((e.settings #>> '{simulation,benchmark}')::boolean, false)
      and (${options.electionIds ?? null}::text[] is null or e.id = any(${options.electionIds ?? null}::text[]))
    order by e.id`
  const purged: PurgedBenchmarks = { elections: 0, ballots: 0, voters: 0, kept: [] }
  for (const { id, elsewhere } of benchmarkElections) {
    if (elsewhere) {
      purged.kept.push(id)
      continue
    }
    const { ballots, voters } = await sql.begin((tx) => purgeElection(tx, id))
    purged.elections++
    purged.ballots += ballots
    purged.voters += voters
  }
  return purged
}

/** Tables that record something per election with no foreign key to it (the rest cascade). */
const ELECTION_RECORDS = [
  'rejected_ballots',
  'duplicate_ballots',
  'tally_counts',
  'trend_buckets',
  'count_rate',
  'election_totals',
  'ballot_outbox',
  'cast_receipts',
  'style_counts',
  'style_totals',
  'contest_counts_legacy',
  'contest_ballots_legacy',
  'ballot_box_pending',
  'ballot_box',
] as const

/** One election and everything recorded for it (in the caller's transaction). */
async function purgeElection(db: Db, id: string): Promise<{ ballots: number; voters: number }> {
  for (const table of ELECTION_RECORDS) await db`delete from ${db(table)} where election_id = ${id}`
  const ballots = await db`delete from ballots where election_id = ${id}`
  // The roll by hand (its foreign key is to regions, which the election's delete cascades
  // to), so that its size can be reported.
  const voters = await db`delete from voters where election_id = ${id}`
  await db`delete from elections where id = ${id}`
  return { ballots: ballots.count, voters: voters.count }
}
