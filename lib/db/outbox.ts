import { type Ballot, encodeBallot } from '../../domain/ballot.ts'
import { AppError } from '../../domain/errors.ts'
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

/** An accepted ballot waiting in the outbox to be published to `votes`. */
export interface OutboxRow {
  id: string
  electionId: string
  voterId: string
  /** The encoded ballot, as published. */
  payload: Buffer
}

/**
 * Takes up to `limit` (default 1000) pending outbox rows, of one election or of all, in
 * the order they were accepted, and locks them `for update` until `tx` ends. With
 * `skipLocked` rows another transaction holds are passed over (several relays share the
 * outbox); without it the call waits for them.
 */
export async function lockPendingOutbox(
  tx: Db,
  options: { electionId?: string; limit?: number; skipLocked: boolean },
): Promise<OutboxRow[]> {
  return tx<OutboxRow[]>`
    select id::text, election_id, voter_id, payload from ballot_outbox
    where (${options.electionId ?? null}::text is null or election_id = ${options.electionId ?? null})
    order by id limit ${options.limit ?? 1000}
    for update ${options.skipLocked ? tx`skip locked` : tx``}`
}

/** Deletes outbox rows by id: the ones the broker has acknowledged. */
export async function deleteOutboxRows(tx: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return
  await tx`delete from ballot_outbox where id = any(${ids}::bigint[])`
}
