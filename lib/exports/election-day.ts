import type { ElectionRow } from '../db/elections.ts'

/**
 * The election day the exports state (NIST results and cast vote records): the day the polls
 * opened, or the day it was created for one never opened. YYYY-MM-DD, UTC.
 */
export function electionDay(e: Pick<ElectionRow, 'openedAt' | 'createdAt'>): string {
  return (e.openedAt ?? e.createdAt).toISOString().slice(0, 10)
}
