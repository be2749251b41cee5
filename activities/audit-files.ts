import { Context } from '@temporalio/activity'
import { AppError } from '../domain/errors.ts'
import { pendingBallots, readAuditCommitment, storeAuditCommitment } from '../lib/db/audit-files.ts'
import { readSnapshot } from '../lib/db/sql.ts'
import { auditCommitment, auditSource } from '../lib/exports/audit-files.ts'
import type { ActivityDeps } from './deps.ts'
import { heartbeating } from './heartbeat.ts'

export interface AuditFilesPublished {
  commitment: string | null
  files: number
  ballots: number
}

/** The one writer of an election's audit commitment: the election workflow, once counting has finished. */
export function createAuditFileActivities({ sql }: ActivityDeps) {
  return {
    /**
     * Produces the audit files of a closed election from its ballot box and stores their
     * digests and the commitment over the set (once: a retry finds it stored). Waits (by
     * failing and being retried) while ballots of the election are still in the pending
     * box: the files must hold every ballot. An election without contests has no box.
     */
    async publishAuditFiles(electionId: string): Promise<AuditFilesPublished> {
      const stored = await readAuditCommitment(sql, electionId)
      if (stored) return { commitment: stored.commitment, files: stored.files.length, ballots: stored.ballots }
      const pending = await pendingBallots(sql, electionId)
      if (pending > 0)
        throw new Error(`${pending} ballots of ${electionId} are still in the pending box; the audit files wait for the mixer`)
      const ctx = Context.current()
      // The files' only time: stored with the commitment, so a regenerated file is the same bytes.
      const generatedAt = new Date()
      const made = await heartbeating(
        readSnapshot(sql, async (tx) => {
          const source = await auditSource(tx, electionId)
          if (!source) return null
          if (source.election.status !== 'closed' && source.election.status !== 'certified')
            throw new AppError(
              'conflict',
              `election ${electionId} is ${source.election.status}: audit files are made once counting has finished`,
            )
          return auditCommitment(tx, source, generatedAt, { progress: (step) => ctx.heartbeat(step) })
        }),
        'producing the audit files',
      )
      if (!made) return { commitment: null, files: 0, ballots: 0 }
      const saved = await storeAuditCommitment(sql, {
        electionId,
        generatedAt,
        containerSize: made.containerSize,
        ballots: made.ballots,
        files: made.files,
        list: made.list,
        commitment: made.commitment,
      })
      return { commitment: saved.commitment, files: saved.files.length, ballots: saved.ballots }
    },
  }
}
