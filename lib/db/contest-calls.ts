import type { ContestCall, ContestCallDecision } from '../../domain/contest-calls.ts'
import type { Db } from './sql.ts'

interface ContestCallRow {
  id: string
  contestId: string
  selectionId: string | null
  outcome: ContestCall['outcome']
  rule: string
  figures: ContestCall['figures']
  calledAt: Date
  retractedAt: Date | null
  retractionReason: string | null
}

/** The latest call of each contest × candidate (each measure), standing or retracted, in the caller's snapshot. */
export async function latestContestCalls(db: Db, electionId: string): Promise<Array<ContestCall & { id: string }>> {
  const rows = await db<ContestCallRow[]>`
    select distinct on (contest_id, coalesce(selection_id, ''))
      id::text, contest_id, selection_id, outcome, rule, figures, called_at, retracted_at, retraction_reason
    from contest_calls where election_id = ${electionId}
    order by contest_id, coalesce(selection_id, ''), contest_calls.id desc`
  return rows.map((r) => ({
    id: r.id,
    contestId: r.contestId,
    selectionId: r.selectionId,
    outcome: r.outcome,
    rule: r.rule,
    figures: r.figures,
    calledAt: r.calledAt.toISOString(),
    status: r.retractedAt ? 'retracted' : 'standing',
    retraction: r.retractedAt ? { at: r.retractedAt.toISOString(), reason: r.retractionReason ?? '' } : null,
  }))
}

export async function recordContestCall(tx: Db, electionId: string, call: ContestCallDecision, version: string) {
  await tx`
    insert into contest_calls (election_id, contest_id, selection_id, outcome, rule, figures, version)
    values (${electionId}, ${call.contestId}, ${call.selectionId}, ${call.outcome}, ${call.rule}, ${tx.json(call.figures)}, ${version}::bigint)`
}

export async function retractContestCall(tx: Db, callId: string, reason: string, version: string) {
  await tx`
    update contest_calls set retracted_at = now(), retraction_reason = ${reason}, retracted_version = ${version}::bigint
    where id = ${callId}::bigint and retracted_at is null`
}
