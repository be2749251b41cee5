import type { Producer } from 'kafkajs'
import { type Ballot, encodeBallot } from '../../domain/ballot.ts'
import { AppError } from '../../domain/errors.ts'
import { sendBallots } from '../ballot-producer.ts'
import type { Db, Sql } from './sql.ts'

/**
 * Takes a voter's ballot: the receipt and the ballot in one transaction. The election's
 * row is read `for share`, so closing the polls (which locks it) waits for a cast in
 * flight, and a cast after the close sees the new status. Throws a conflict if the
 * polls are not open or the voter has voted.
 *
 * The ballot's `castAt` is the database's clock in this transaction, the clock the tally
 * judges it by: an API host whose clock is off cannot turn a 202 into a rejection.
 * Returns the ballot as published.
 */
export async function castBallot(sql: Sql, unstamped: Omit<Ballot, 'castAt'>): Promise<Ballot> {
  return sql.begin(async (tx) => {
    const [election] = await tx<{ status: string; now: Date }[]>`
      select status, now() from elections where id = ${unstamped.electionId} for share`
    if (!election) throw new AppError('not_found', `no election ${unstamped.electionId}`)
    const ballot: Ballot = { ...unstamped, castAt: election.now.toISOString() }
    if (election.status !== 'open') {
      throw new AppError('conflict', `election ${ballot.electionId} is ${election.status}: the polls are not open`)
    }
    const [receipt] = await tx`
      insert into cast_receipts (election_id, voter_id, ballot_id) values (${ballot.electionId}, ${ballot.voterId}, ${ballot.ballotId})
      on conflict do nothing returning ballot_id`
    if (!receipt) throw new AppError('conflict', 'this voter has already cast a ballot in this election')
    await tx`
      insert into ballot_outbox (election_id, voter_id, ballot_id, payload)
      values (${ballot.electionId}, ${ballot.voterId}, ${ballot.ballotId}, ${encodeBallot(ballot)})`
    return ballot
  })
}

/**
 * Publishes pending outbox rows to `votes` and deletes them, in one transaction per call:
 * the rows stay locked while they are sent, and are deleted only once the broker has
 * them. `skipLocked` lets several relays share the outbox; without it (closing the
 * polls) the call waits for a relay in flight, so nothing accepted is left behind.
 * Returns how many were published.
 */
export async function publishOutbox(
  sql: Sql | Db,
  producer: Producer,
  options: { electionId?: string; limit?: number; skipLocked: boolean },
): Promise<number> {
  const run = async (tx: Db) => {
    const rows = await tx<{ id: string; electionId: string; voterId: string; payload: Buffer }[]>`
      select id::text, election_id, voter_id, payload from ballot_outbox
      where (${options.electionId ?? null}::text is null or election_id = ${options.electionId ?? null})
      order by id limit ${options.limit ?? 1000}
      for update ${options.skipLocked ? tx`skip locked` : tx``}`
    if (rows.length === 0) return 0
    await sendBallots(
      producer,
      rows.map((r) => ({ key: r.voterId, electionId: r.electionId, raw: r.payload })),
    )
    await tx`delete from ballot_outbox where id = any(${rows.map((r) => r.id)}::bigint[])`
    return rows.length
  }
  return 'savepoint' in sql ? run(sql) : (sql as Sql).begin(run)
}
