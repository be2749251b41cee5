import type { RejectionReason } from './ballot.ts'
import type { ElectionStatus, ReportingStatus } from './election.ts'

/** What every results surface shows: the results topic, the API, the SSE stream, the page. */
export interface ResultsSnapshot {
  electionId: string
  name: string
  status: ElectionStatus
  reportingStatus: ReportingStatus
  /** Increases with every snapshot; a consumer drops any older than what it has. */
  version: number
  asOf: string
  candidates: Array<{ id: string; name: string; party: string | null; votes: number; share: number }>
  regions: Array<{
    id: string
    name: string
    state: string
    registeredVoters: number
    ballots: number
    turnoutPercent: number
    lat: number | null
    lon: number | null
  }>
  totals: {
    counted: number
    rejected: number
    registeredVoters: number
    /** Ballots expected in all: produced ones once polls close, else the registered voters. */
    expected: number
    /** counted / expected, 0..1 */
    shareCounted: number
  }
  rejections: Partial<Record<RejectionReason, number>>
  call: RaceCall | null
  /** Present when a client asked what changed since a version it has. */
  changedSince?: { since: number; candidates: string[]; regions: string[] }
}

export interface RaceCall {
  candidateId: string
  calledAt: string
  rule: string
  figures: { lead: number; outstanding: number; leaderVotes: number; runnerUpVotes: number }
}

/**
 * A race is called only when no ballot still to come can overturn the lead: the lead
 * must exceed the ballots outstanding — registered voters who have not voted while the
 * polls are open, or ballots produced but not yet counted once they have closed.
 */
export function decideCall(input: {
  votes: Array<{ id: string; votes: number }>
  status: ElectionStatus
  registeredVoters: number
  counted: number
  rejected: number
  produced: number | null
}): Omit<RaceCall, 'calledAt'> | null {
  const sorted = [...input.votes].sort((a, b) => b.votes - a.votes)
  const [leader, runnerUp] = sorted
  if (!leader || leader.votes === 0) return null
  const pollsClosed = input.status !== 'open' && input.status !== 'draft'
  // Closed means every ballot produced before the polls closed has been counted.
  const allCounted = input.status === 'closed' || input.status === 'certified'
  let outstanding = Math.max(0, input.registeredVoters - input.counted)
  let rule = 'lead exceeds registered voters who have not voted'
  if (allCounted) {
    outstanding = 0
    rule = 'polls closed and every ballot counted'
  } else if (pollsClosed && input.produced !== null) {
    outstanding = Math.max(0, input.produced - input.counted - input.rejected)
    rule = 'lead exceeds ballots produced but not yet counted'
  }
  const lead = leader.votes - (runnerUp?.votes ?? 0)
  if (lead <= outstanding) return null
  return {
    candidateId: leader.id,
    rule,
    figures: { lead, outstanding, leaderVotes: leader.votes, runnerUpVotes: runnerUp?.votes ?? 0 },
  }
}
