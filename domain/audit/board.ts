import { resultLines } from '../contest-results.ts'
import { type ContestRules, WRITE_IN_SELECTION } from '../contests.ts'
import type { HandCount } from './report.ts'

/**
 * What an audit board enters through the API, checked against the audited contests: a
 * drawn paper's reading and a full hand count. Each problem names the field, as a 400 does.
 */
export interface EntryIssue {
  path: string
  message: string
}

/**
 * A paper's reading: per audited contest, the lines marked (selection ids, `write-in` where
 * the contest has a write-in line), each once. More marks than the contest allows is an
 * overvote the paper really shows: taken as read. A contest left out is blank on the paper.
 */
export function paperEntryIssues(contests: readonly ContestRules[], marks: Record<string, string[]>): EntryIssue[] {
  const audited = new Map(contests.map((c) => [c.id, c]))
  const issues: EntryIssue[] = []
  for (const [contestId, lines] of Object.entries(marks)) {
    const contest = audited.get(contestId)
    if (!contest) {
      issues.push({ path: `marks.${contestId}`, message: 'not a contest of this audit' })
      continue
    }
    const known = new Set(resultLines(contest).map((l) => l.id))
    const seen = new Set<string>()
    for (const [i, line] of lines.entries()) {
      if (!known.has(line)) issues.push({ path: `marks.${contestId}.${i}`, message: `${contest.id} has no line ${line}` })
      // Two names written in are two marks on the write-in line (the count's rule); any other line once.
      else if (seen.has(line) && line !== WRITE_IN_SELECTION)
        issues.push({ path: `marks.${contestId}.${i}`, message: `${line} marked twice` })
      seen.add(line)
    }
  }
  return capped(issues)
}

/** At most this many issues named: a body of thousands of bad keys gets a short answer. */
export const MAX_ENTRY_ISSUES = 20

const capped = (issues: EntryIssue[]): EntryIssue[] =>
  issues.length <= MAX_ENTRY_ISSUES
    ? issues
    : [...issues.slice(0, MAX_ENTRY_ISSUES), { path: '(body)', message: `and ${issues.length - MAX_ENTRY_ISSUES} more problems` }]

/**
 * A full hand count: every audited contest, each with votes for lines it has (a line left
 * out got none), and no contest's votes above what its ballots could hold.
 */
export function handCountIssues(contests: readonly ContestRules[], counts: HandCount, ballots: number): EntryIssue[] {
  const issues: EntryIssue[] = []
  const audited = new Set(contests.map((c) => c.id))
  for (const id of Object.keys(counts))
    if (!audited.has(id)) issues.push({ path: `contests.${id}`, message: 'not a contest of this audit' })
  for (const contest of contests) {
    const votes = Object.hasOwn(counts, contest.id) ? counts[contest.id] : undefined
    if (!votes) {
      issues.push({ path: `contests.${contest.id}`, message: 'missing: the hand count covers every audited contest' })
      continue
    }
    const known = new Set(resultLines(contest).map((l) => l.id))
    let total = 0
    for (const [line, n] of Object.entries(votes)) {
      if (!known.has(line)) issues.push({ path: `contests.${contest.id}.${line}`, message: `${contest.id} has no line ${line}` })
      total += n
    }
    if (total > ballots * contest.votesAllowed)
      issues.push({
        path: `contests.${contest.id}`,
        message: `${total} votes: more than ${ballots} ballots × ${contest.votesAllowed} could hold`,
      })
  }
  return capped(issues)
}
