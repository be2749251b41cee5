import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditRound } from '../domain/audit/report.ts'
import { type AuditBallotRow, createAudit, enterPaper, readRoundDraws, recordAuditRound, recordDraws } from '../lib/db/audits.ts'
import { createElection } from '../lib/db/elections.ts'
import { migrate } from '../lib/db/migrate.ts'
import { testSql } from './helpers.ts'

/**
 * An audit board's entries against the round's decision, in the database alone (no
 * workflow): what the decision was made from must still be the round's when it is recorded,
 * and a recorded round's papers do not change. The race these guard against (a correction
 * between the decision's read and its record) is staged here by doing the two in order.
 */
const sql = testSql()
beforeAll(() => migrate(sql))
afterAll(() => sql.end({ timeout: 5 }))

async function boardAudit() {
  const electionId = `abe-${randomUUID().slice(0, 8)}`
  const auditId = `a-abe-${randomUUID().slice(0, 8)}`
  await createElection(sql, { id: electionId, name: 'Board entries', candidates: [], regions: [] })
  await createAudit(sql, {
    id: auditId,
    electionId,
    contestIds: ['gov'],
    riskLimit: 0.05,
    seed: '12345678901234567890',
    method: 'ballot-polling',
    papers: 'board',
    commitment: 'c',
  })
  const draws: AuditBallotRow[] = [1, 2].map((draw) => ({
    draw,
    round: 1,
    ticket: draw,
    batch: 'north/mail/1',
    position: draw,
    paper: null,
    paperState: 'pending',
  }))
  await recordDraws(sql, auditId, 1, draws)
  return { electionId, auditId }
}

const decision: AuditRound = {
  round: 1,
  draws: 2,
  contests: [{ contestId: 'gov', status: 'confirmed', reason: 'test', pairs: [] }],
}

describe("an audit board's entries and the round's decision", () => {
  it('records a decision only from the papers the round still holds, and keeps a decided round as it was', async () => {
    const { electionId, auditId } = await boardAudit()
    try {
      for (const draw of [1, 2]) expect(await enterPaper(sql, auditId, draw, { gov: ['ada'] }, null)).toMatchObject({ filled: 1 })
      const readForDecision = await readRoundDraws(sql, auditId, 1)
      // The board corrects draw 2 after the decision read the round: that decision is not recorded.
      expect(await enterPaper(sql, auditId, 2, { gov: ['bob'] }, null)).toMatchObject({ filled: 1 })
      await expect(recordAuditRound(sql, auditId, decision, [], readForDecision)).rejects.toThrow(/a paper changed while deciding/)
      expect(await sql`select 1 from audit_rounds where audit_id = ${auditId}`).toHaveLength(0)
      // Decided again from what the round holds now: recorded.
      await recordAuditRound(sql, auditId, decision, [], await readRoundDraws(sql, auditId, 1))
      expect(await sql`select 1 from audit_rounds where audit_id = ${auditId}`).toHaveLength(1)
      // After it, the round's papers stay: through the API's path, and for any role.
      expect(await enterPaper(sql, auditId, 2, { gov: ['ada'] }, null)).toMatchObject({ kind: 'conflict' })
      await expect(sql`update audit_ballots set paper = '{"gov": []}' where audit_id = ${auditId} and draw = 2`).rejects.toThrow(
        /not open to entry/,
      )
      expect((await readRoundDraws(sql, auditId, 1)).map((d) => d.paper)).toEqual([{ gov: ['ada'] }, { gov: ['bob'] }])
    } finally {
      await sql`delete from elections where id = ${electionId}`
    }
  })
})
