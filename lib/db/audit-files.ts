import type { Channel, Marks } from '../../domain/ballot.ts'
import type { Commitment } from '../../domain/exports/commitment.ts'
import type { Db } from './sql.ts'

/** One ballot of the box as the audit files take it: its random id, where and how it was cast, its marks. */
export interface BoxRow {
  id: string
  regionId: string
  channel: Channel
  styleId: string
  marks: Marks
  imprint: string | null
}

/**
 * The election's ballot box in the order of its random ids (unrelated to arrival: the
 * order the audit files list ballots in), through a cursor: a county's box is hundreds of
 * megabytes of marks. Call it in one snapshot (repeatable read) when reading it twice.
 */
export async function* ballotBoxInIdOrder(db: Db, electionId: string): AsyncGenerator<BoxRow> {
  const cursor = db<BoxRow[]>`
    select id::text, region_id, channel, style_id, marks, imprint
    from ballot_box where election_id = ${electionId} order by id`.cursor(2000)
  for await (const rows of cursor) yield* rows
}

/**
 * Whether every ballot of the election's box carries its paper's imprint, each a different
 * one: what a comparison audit needs to find the paper of a drawn record (one pass over the box).
 */
export async function imprintCoverage(db: Db, electionId: string): Promise<{ ballots: number; imprinted: number; distinct: number }> {
  const [row] = await db<{ ballots: number; imprinted: number; distinct: number }[]>`
    select count(*)::float8 as ballots, count(imprint)::float8 as imprinted, count(distinct imprint)::float8 as distinct
    from ballot_box where election_id = ${electionId}`
  return row ?? { ballots: 0, imprinted: 0, distinct: 0 }
}

/** Ballots of the election still in the pending box (not yet mixed into the box proper). */
export async function pendingBallots(db: Db, electionId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`select count(*)::float8 as n from ballot_box_pending where election_id = ${electionId}`
  return row?.n ?? 0
}

/** The election's precincts as the cast vote records list them (GpUnits), by id. */
export async function auditRegions(db: Db, electionId: string): Promise<Array<{ id: string; name: string }>> {
  return db<Array<{ id: string; name: string }>>`select id, name from regions where election_id = ${electionId} order by id`
}

/** Ballots per region × channel in the box: the manifest's input. */
export async function boxCounts(db: Db, electionId: string): Promise<Array<{ regionId: string; channel: Channel; ballots: number }>> {
  return db<Array<{ regionId: string; channel: Channel; ballots: number }>>`
    select region_id, channel, count(*)::float8 as ballots from ballot_box where election_id = ${electionId} group by 1, 2`
}

export interface StoredCommitment {
  electionId: string
  generatedAt: Date
  containerSize: number
  ballots: number
  files: Commitment['files']
  list: string
  commitment: string
  createdAt: Date
}

/** Stores the audit files' commitment once; a second attempt (a retried activity) keeps the first. */
export async function storeAuditCommitment(db: Db, c: Omit<StoredCommitment, 'createdAt'>): Promise<StoredCommitment> {
  await db`
    insert into audit_commitments (election_id, generated_at, container_size, ballots, files, list, commitment)
    values (${c.electionId}, ${c.generatedAt}, ${c.containerSize}, ${c.ballots}, ${db.json(c.files.map((f) => ({ ...f })))}, ${c.list}, ${c.commitment})
    on conflict (election_id) do nothing`
  const stored = await readAuditCommitment(db, c.electionId)
  if (!stored) throw new Error(`the audit commitment of ${c.electionId} was not stored`)
  return stored
}

export async function readAuditCommitment(db: Db, electionId: string): Promise<StoredCommitment | null> {
  const [row] = await db<Array<Omit<StoredCommitment, 'ballots'> & { ballots: string }>>`
    select election_id, generated_at, container_size, ballots::text, files, list, commitment, created_at
    from audit_commitments where election_id = ${electionId}`
  return row ? { ...row, ballots: Number(row.ballots) } : null
}
