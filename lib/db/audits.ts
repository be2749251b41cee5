import type { AuditMethod, AuditResult, AuditRound, AuditStatusName } from '../../domain/audit/report.ts'
import { type Db, inTransaction } from './sql.ts'

type TransactionSql = Parameters<Parameters<typeof inTransaction>[1]>[0]

export interface AuditRow {
  id: string
  electionId: string
  contestIds: string[]
  riskLimit: number
  seed: string
  method: AuditMethod
  status: AuditStatusName
  commitment: string
  result: AuditResult | null
  startedAt: Date
  finishedAt: Date | null
}

/**
 * One draw of the sample, with its paper's interpretation for the audited contests; in a
 * comparison audit also its cast vote record's. Null for a paper or record not found
 * (counted as the worst discrepancy).
 */
export interface AuditBallotRow {
  draw: number
  round: number
  ticket: number
  batch: string
  position: number
  paper: Record<string, string[]> | null
  cvr?: Record<string, string[]> | null
}

/** Records an operator's audit request; the audit's workflow writes everything after. */
export async function createAudit(
  db: Db,
  a: Pick<AuditRow, 'id' | 'electionId' | 'contestIds' | 'riskLimit' | 'seed' | 'method' | 'commitment'>,
): Promise<void> {
  await db`
    insert into audits (id, election_id, contest_ids, risk_limit, seed, method, commitment)
    values (${a.id}, ${a.electionId}, ${a.contestIds}, ${a.riskLimit}, ${a.seed}, ${a.method}, ${a.commitment})`
}

/** Removes a request whose workflow could not be started (nothing was drawn for it). */
export async function dropAuditRequest(db: Db, auditId: string): Promise<void> {
  await db`delete from audits where id = ${auditId} and not exists (select from audit_rounds where audit_id = ${auditId})`
}

const AUDIT_COLUMNS = (db: Db) =>
  db`id, election_id, contest_ids, risk_limit, seed, method, status, commitment, result, started_at, finished_at`

export async function readAudit(db: Db, auditId: string): Promise<AuditRow | null> {
  const [row] = await db<AuditRow[]>`select ${AUDIT_COLUMNS(db)} from audits where id = ${auditId}`
  return row ?? null
}

/** The election's audits, newest first. */
export async function listAudits(db: Db, electionId: string): Promise<AuditRow[]> {
  return db<AuditRow[]>`select ${AUDIT_COLUMNS(db)} from audits where election_id = ${electionId} order by started_at desc, id limit 100`
}

export async function readAuditRounds(db: Db, auditId: string): Promise<AuditRound[]> {
  return db<AuditRound[]>`select round, draws, contests from audit_rounds where audit_id = ${auditId} order by round`
}

/** One page of the sample, for the API (a county's sample is tens of thousands of draws). */
export async function readAuditBallotsPage(db: Db, auditId: string, offset: number, limit: number): Promise<AuditBallotRow[]> {
  return db<AuditBallotRow[]>`
    select draw, round, ticket::float8 as ticket, batch, position, paper, cvr from audit_ballots
    where audit_id = ${auditId} and draw > ${offset} order by draw limit ${limit}`
}

/** The sample of a comparison audit up to a draw, in draw order: each round tests it whole. */
export async function readComparedSample(db: Db, auditId: string, throughDraw: number): Promise<AuditBallotRow[]> {
  return db<AuditBallotRow[]>`
    select draw, round, ticket::float8 as ticket, batch, position, paper, cvr from audit_ballots
    where audit_id = ${auditId} and draw <= ${throughDraw} order by draw`
}

/**
 * A round's new draws and its decision, in one transaction: a retried round (its first
 * attempt recorded and then lost its worker) finds both written and changes nothing.
 */
export async function recordAuditRound(db: Db, auditId: string, round: AuditRound, ballots: AuditBallotRow[]): Promise<void> {
  const run = async (tx: TransactionSql) => {
    // Under the audit's row lock, and only once: a second attempt of the round (its first
    // still running after a heartbeat timeout) finds the round recorded and writes nothing.
    await tx`select 1 from audits where id = ${auditId} for update`
    const [done] = await tx`select 1 from audit_rounds where audit_id = ${auditId} and round = ${round.round}`
    if (done) return
    for (let i = 0; i < ballots.length; i += 1000) {
      const chunk = ballots.slice(i, i + 1000)
      await tx`
        insert into audit_ballots (audit_id, draw, round, ticket, batch, position, paper, cvr)
        select ${auditId}, b.draw, b.round, b.ticket, b.batch, b.position, b.paper, b.cvr
        from jsonb_to_recordset(${tx.json(chunk as never)})
          as b(draw int, round int, ticket bigint, batch text, position int, paper jsonb, cvr jsonb)
        on conflict (audit_id, draw) do nothing`
    }
    await tx`
      insert into audit_rounds (audit_id, round, draws, contests)
      values (${auditId}, ${round.round}, ${round.draws}, ${tx.json(round.contests as never)})
      on conflict (audit_id, round) do nothing`
  }
  await inTransaction(db, run)
}

export async function finishAudit(db: Db, auditId: string, status: AuditStatusName, result: AuditResult | null): Promise<void> {
  await db`
    update audits set status = ${status}, result = ${result === null ? null : db.json(result as never)}, finished_at = coalesce(finished_at, now())
    where id = ${auditId} and status = 'running'`
}

/** The ids of the ballots counted for an election (the ledger's, not the box's: the box keeps no ballot id). */
export async function* countedBallotIds(db: Db, electionId: string): AsyncGenerator<string> {
  const cursor = db<{ ballotId: string }[]>`select ballot_id::text from ballots where election_id = ${electionId}`.cursor(5000)
  for await (const rows of cursor) for (const r of rows) yield r.ballotId
}

/** Distinct papers the sample asked for (a ballot drawn twice is retrieved once). */
export async function countAuditPapers(db: Db, auditId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    select count(distinct (batch, position))::int as n from audit_ballots where audit_id = ${auditId}`
  return row?.n ?? 0
}
