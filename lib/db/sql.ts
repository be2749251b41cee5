import postgres from 'postgres'

export type Sql = postgres.Sql
/** A pool or a transaction: functions that may run inside one take this as first argument. */
export type Db = postgres.Sql | postgres.TransactionSql

export function createSql(url: string, options: { max?: number; applicationName?: string } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // jit off for every session, whatever the server's default: the planner overrates
    // the unnest-based batch statements and JIT-compiles them each time (see bench).
    connection: { application_name: options.applicationName ?? 'votestream', jit: 'off' },
    // bigint counts come back as JS numbers: tallies stay far below 2^53.
    types: { bigint: postgres.BigInt },
    transform: { undefined: null, column: { from: postgres.toCamel } },
  })
}
