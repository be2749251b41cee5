import type { AuditMethod, AuditPapers, AuditResult, AuditRound, AuditStatusName, HandCount } from '../../domain/audit/report.ts'
import { type Db, inTransaction } from './sql.ts'

type TransactionSql = Parameters<Parameters<typeof inTransaction>[1]>[0]

export interface AuditRow {
  id: string
  electionId: string
  contestIds: string[]
  riskLimit: number
  seed: string
  method: AuditMethod
  /** Where the papers come from: the simulator's generator, or an audit board entering them through the API. */
  papers: AuditPapers
  /** A board's full hand count, once entered: votes per audited contest and line. */
  handCount: HandCount | null
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
  /** read (entered, or from the generator), pending (drawn, awaiting the board), missing (not found). */
  paperState?: PaperState
  cvr?: Record<string, string[]> | null
  /** Comparison: the imprint on the paper to find (the record's BallotAuditId). */
  imprint?: string | null
}
export type PaperState = 'read' | 'pending' | 'missing'

const BALLOT_COLUMNS = (db: Db) => db`draw, round, ticket::float8 as ticket, batch, position, paper, paper_state, cvr, imprint`

/** Records an operator's audit request; the audit's workflow writes everything after. */
export async function createAudit(
  db: Db,
  a: Pick<AuditRow, 'id' | 'electionId' | 'contestIds' | 'riskLimit' | 'seed' | 'method' | 'papers' | 'commitment'>,
): Promise<void> {
  await db`
    insert into audits (id, election_id, contest_ids, risk_limit, seed, method, papers, commitment)
    values (${a.id}, ${a.electionId}, ${a.contestIds}, ${a.riskLimit}, ${a.seed}, ${a.method}, ${a.papers}, ${a.commitment})`
}

/** Removes a request whose workflow could not be started (nothing was drawn for it). */
export async function dropAuditRequest(db: Db, auditId: string): Promise<void> {
  await db`delete from audits where id = ${auditId} and not exists (select from audit_rounds where audit_id = ${auditId})`
}

const AUDIT_COLUMNS = (db: Db) =>
  db`id, election_id, contest_ids, risk_limit, seed, method, papers, hand_count, status, commitment, result, started_at, finished_at`

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
    select ${BALLOT_COLUMNS(db)} from audit_ballots
    where audit_id = ${auditId} and draw > ${offset} order by draw limit ${limit}`
}

/** One round's draws, in draw order. */
export async function readRoundDraws(db: Db, auditId: string, round: number): Promise<AuditBallotRow[]> {
  return db<
    AuditBallotRow[]
  >`select ${BALLOT_COLUMNS(db)} from audit_ballots where audit_id = ${auditId} and round = ${round} order by draw`
}

/** Papers the board entered (or found missing) so far, by place: a place drawn again needs no second reading. */
export async function readEnteredPapers(db: Db, auditId: string): Promise<Map<string, AuditBallotRow>> {
  const rows = await db<AuditBallotRow[]>`
    select distinct on (batch, position) ${BALLOT_COLUMNS(db)} from audit_ballots
    where audit_id = ${auditId} and paper_state <> 'pending' order by batch, position, draw`
  return new Map(rows.map((r) => [`${r.batch}#${r.position}`, r]))
}

/** Draws of a round still waiting for the board. */
export async function countAwaitedPapers(db: Db, auditId: string, round: number): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    select count(*)::int as n from audit_ballots where audit_id = ${auditId} and round = ${round} and paper_state = 'pending'`
  return row?.n ?? 0
}

/**
 * The board's reading of the paper at a draw's place (null: not found), for every draw of
 * that place still open in its round, in one transaction under the audit's row lock (which
 * the decision's record takes too). Refused once the audit is over, once the draw's round is
 * decided, and when a decided round already read that place (a paper has one reading); for a
 * comparison audit, a paper whose imprint is not the one its record names. Returns the draws filled.
 */
export async function enterPaper(
  db: Db,
  auditId: string,
  draw: number,
  paper: Record<string, string[]> | null,
  imprint: string | null,
): Promise<{ filled: number; round: number } | { refused: string; kind: 'not_found' | 'conflict' | 'invalid_input' }> {
  return inTransaction(db, async (tx) => {
    const [audit] = await tx<{ status: string; papers: string; method: string }[]>`
      select status, papers, method from audits where id = ${auditId} for update`
    if (!audit) return { refused: `no audit ${auditId}`, kind: 'not_found' }
    if (audit.papers !== 'board')
      return { refused: `audit ${auditId} reads its papers from the simulator, not from an audit board`, kind: 'conflict' }
    if (audit.status !== 'running') return { refused: `audit ${auditId} is ${audit.status}`, kind: 'conflict' }
    const [at] = await tx<{ batch: string; position: number; round: number; imprint: string | null; decided: boolean }[]>`
      select b.batch, b.position, b.round, b.imprint,
             exists (select from audit_rounds r where r.audit_id = b.audit_id and r.round = b.round) as decided
      from audit_ballots b where b.audit_id = ${auditId} and b.draw = ${draw}`
    if (!at) return { refused: `audit ${auditId} has no draw ${draw}`, kind: 'not_found' }
    if (at.decided) return { refused: `round ${at.round} of audit ${auditId} is decided: its papers cannot change`, kind: 'conflict' }
    const [earlier] = await tx<{ round: number }[]>`
      select b.round from audit_ballots b join audit_rounds r on r.audit_id = b.audit_id and r.round = b.round
      where b.audit_id = ${auditId} and b.batch = ${at.batch} and b.position = ${at.position} limit 1`
    if (earlier)
      return { refused: `the paper at draw ${draw} was read in round ${earlier.round}, decided: a paper has one reading`, kind: 'conflict' }
    if (audit.method === 'ballot-comparison' && paper !== null && imprint !== at.imprint)
      return {
        refused: `imprint: the record at draw ${draw} names the paper ${at.imprint ?? '(none)'}, not ${imprint ?? '(none given)'}: find that paper, or enter it missing`,
        kind: 'invalid_input',
      }
    const filled = await tx`
      update audit_ballots set paper = ${paper === null ? null : tx.json(paper)}, paper_state = ${paper === null ? 'missing' : 'read'}
      where audit_id = ${auditId} and batch = ${at.batch} and position = ${at.position} and round = ${at.round}`
    return { filled: filled.count, round: at.round }
  })
}

/**
 * The board's full hand count of the audited contests: taken only while the audit is
 * running and its last round asks for one (never a count staged before), and replaced until
 * the audit concludes from it.
 */
export async function storeHandCount(db: Db, auditId: string, counts: HandCount): Promise<boolean> {
  const stored = await db`
    update audits a set hand_count = ${db.json(counts as never)}
    where a.id = ${auditId} and a.status = 'running'
      and exists (select from audit_rounds r where r.audit_id = a.id
                  and r.round = (select max(round) from audit_rounds where audit_id = a.id)
                  and r.contests @> '[{"status": "full-hand-count-needed"}]')`
  return stored.count === 1
}

/** The sample of a comparison audit up to a draw, in draw order: each round tests it whole. */
export async function readComparedSample(db: Db, auditId: string, throughDraw: number): Promise<AuditBallotRow[]> {
  return db<AuditBallotRow[]>`
    select ${BALLOT_COLUMNS(db)} from audit_ballots
    where audit_id = ${auditId} and draw <= ${throughDraw} order by draw`
}

/**
 * A round's new draws and its decision, in one transaction: a retried round (its first
 * attempt recorded and then lost its worker) finds both written and changes nothing.
 */
export async function recordAuditRound(
  db: Db,
  auditId: string,
  round: AuditRound,
  ballots: AuditBallotRow[],
  /** A board's round: the draws the decision was made from, which must still be what the round holds. */
  decidedFrom?: readonly AuditBallotRow[],
): Promise<void> {
  const run = async (tx: TransactionSql) => {
    // Under the audit's row lock, and only once: a second attempt of the round (its first
    // still running after a heartbeat timeout) finds the round recorded and writes nothing.
    await tx`select 1 from audits where id = ${auditId} for update`
    const [done] = await tx`select 1 from audit_rounds where audit_id = ${auditId} and round = ${round.round}`
    if (done) return
    if (decidedFrom) {
      // The board may correct a paper until the round is recorded (enterPaper takes the same
      // lock): a decision made from an earlier reading is not recorded, and is made again.
      const now = await tx<AuditBallotRow[]>`
        select draw, paper, paper_state from audit_ballots where audit_id = ${auditId} and round = ${round.round} order by draw`
      const key = (rows: readonly AuditBallotRow[]) => JSON.stringify(rows.map((r) => [r.draw, r.paperState, r.paper]))
      if (key(now) !== key(decidedFrom))
        throw new Error(`round ${round.round} of audit ${auditId}: a paper changed while deciding; deciding again`)
    }
    await insertDraws(tx, auditId, ballots)
    await tx`
      insert into audit_rounds (audit_id, round, draws, contests)
      values (${auditId}, ${round.round}, ${round.draws}, ${tx.json(round.contests as never)})
      on conflict (audit_id, round) do nothing`
  }
  await inTransaction(db, run)
}

/**
 * A round's draws before their papers are read (an audit board's round): recorded once,
 * under the audit's row lock; a second attempt finds them and writes nothing. Returns
 * whether these draws are the ones recorded.
 */
export async function recordDraws(db: Db, auditId: string, round: number, ballots: AuditBallotRow[]): Promise<void> {
  await inTransaction(db, async (tx) => {
    await tx`select 1 from audits where id = ${auditId} for update`
    const [done] = await tx`select 1 from audit_ballots where audit_id = ${auditId} and round = ${round} limit 1`
    if (done) return
    await insertDraws(tx, auditId, ballots)
  })
}

async function insertDraws(tx: TransactionSql, auditId: string, ballots: AuditBallotRow[]): Promise<void> {
  for (let i = 0; i < ballots.length; i += 1000) {
    const chunk = ballots.slice(i, i + 1000).map((b) => ({
      draw: b.draw,
      round: b.round,
      ticket: b.ticket,
      batch: b.batch,
      position: b.position,
      paper: b.paper,
      paper_state: b.paperState ?? (b.paper === null ? 'missing' : 'read'),
      cvr: b.cvr ?? null,
      imprint: b.imprint ?? null,
    }))
    await tx`
      insert into audit_ballots (audit_id, draw, round, ticket, batch, position, paper, paper_state, cvr, imprint)
      select ${auditId}, b.draw, b.round, b.ticket, b.batch, b.position, b.paper, b.paper_state, b.cvr, b.imprint
      from jsonb_to_recordset(${tx.json(chunk as never)})
        as b(draw int, round int, ticket bigint, batch text, position int, paper jsonb, paper_state text, cvr jsonb, imprint text)
      on conflict (audit_id, draw) do nothing`
  }
}

/**
 * Records the audit's end, once. `fromHandCount`: the board's count the result was made
 * from, which must still be the stored one (a count replaced meanwhile is concluded from
 * again: returns false).
 */
export async function finishAudit(
  db: Db,
  auditId: string,
  status: AuditStatusName,
  result: AuditResult | null,
  fromHandCount?: HandCount,
): Promise<boolean> {
  const finished = await db`
    update audits set status = ${status}, result = ${result === null ? null : db.json(result as never)}, finished_at = coalesce(finished_at, now())
    where id = ${auditId} and status = 'running'
      ${fromHandCount ? db`and hand_count = ${db.json(fromHandCount as never)}` : db``}`
  return finished.count === 1
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
