import postgres from 'postgres'

export type Sql = postgres.Sql
/** A pool or a transaction: functions that may run inside one take this as first argument. */
export type Db = postgres.Sql | postgres.TransactionSql

export function createSql(
  url: string,
  options: {
    max?: number
    applicationName?: string /** Session settings, e.g. statement_timeout. */
    settings?: Record<string, string | number>
    /** Seconds before a connection is replaced (postgres.js: 30–60 min); 0 never, for a session that must last (a base backup). */
    maxLifetime?: number
  } = {},
): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    ...(options.maxLifetime !== undefined ? { max_lifetime: options.maxLifetime === 0 ? null : options.maxLifetime } : {}),
    onnotice: () => {},
    // jit off for every session, whatever the server's default: the planner overrates
    // the unnest-based batch statements and JIT-compiles them each time (see bench).
    connection: { application_name: options.applicationName ?? 'votestream', jit: 'off', ...options.settings },
    // bigint (int8) columns come back as JS BigInt, exactly. Queries that want a plain
    // number cast to float8 or int (counts stay far below 2^53); row types say which.
    types: { bigint: postgres.BigInt },
    transform: { undefined: null, column: { from: postgres.toCamel } },
  })
}

/** Runs `fn` in the transaction `db` already is, or in a new one. */
export async function inTransaction<T>(db: Db, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  if ('savepoint' in db) return fn(db as postgres.TransactionSql)
  return (await (db as postgres.Sql).begin(fn)) as T
}

/**
 * For the rest of this transaction, joins by hashing (or merging) instead of nested loops.
 * The reads that call this scan one election's rows of several tables at once (its 5,000
 * regions, their count rows, its vectors). While an election is young the planner's
 * statistics have not seen it: `election_id = $1` is estimated at one row until autoanalyze
 * runs, a minute or more into counting, so the planner nests a loop over thousands of rows
 * inside another — 2.5 to 21 s per statement instead of 20 ms (auto_explain, a 5,000-precinct
 * benchmark election in its first seconds). A hash join costs about the same whether the
 * estimate is right or not. Joins that only a nested loop can do (`= any(array)`, a lateral
 * unnest) still use one.
 */
export async function preferHashJoins(tx: postgres.TransactionSql): Promise<void> {
  await tx`set local enable_nestloop = off`
}

/**
 * Runs `read` in one database snapshot (repeatable read, read only), so every statement in
 * it agrees with the others (a version and the counts it names), with hash joins preferred
 * (above): the transaction of every read of an election's results, documents and files.
 */
export function readSnapshot<T>(sql: postgres.Sql, read: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    await preferHashJoins(tx)
    return read(tx)
  }) as Promise<T>
}

/** A round trip to the server: for health checks. */
export async function ping(db: Db): Promise<void> {
  await db`select 1`
}

/**
 * Lifts the statement timeout for the rest of this transaction: a cursor read while a client
 * downloads (the cast vote records) is one statement for PostgreSQL's timer from its first
 * fetch to its last, however slowly the client reads.
 */
export async function withoutStatementTimeout(tx: postgres.TransactionSql): Promise<void> {
  await tx`set local statement_timeout = 0`
}
