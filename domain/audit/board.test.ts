import { describe, expect, it } from 'vitest'
import type { ContestRules } from '../contests.ts'
import { handCountIssues, MAX_ENTRY_ISSUES, paperEntryIssues } from './board.ts'
import { bravoAudit, type ReportedContest } from './bravo.ts'
import { handCountSchema, paperEntrySchema } from './report.ts'

const contest = (id: string, selections: string[], writeIns = false, votesAllowed = 1): ContestRules => ({
  id,
  name: id,
  type: 'candidate',
  district: 'all',
  position: 0,
  votesAllowed,
  numberElected: votesAllowed,
  writeIns,
  selections: selections.map((s) => ({ id: s, name: s, party: null, writeIn: false })),
  threshold: null,
})
const gov = contest('gov', ['ada', 'bob'], true)
const council = contest('council', ['a', 'b', 'c'], false, 2)

describe("an audit board's paper", () => {
  it('takes what the paper shows, overvotes and blanks included', () => {
    expect(paperEntryIssues([gov, council], { gov: ['ada'], council: ['a', 'b', 'c'] })).toEqual([])
    expect(paperEntryIssues([gov], { gov: ['write-in'] })).toEqual([])
    // Two names written in: two marks on the write-in line, as the count reads them.
    expect(paperEntryIssues([gov], { gov: ['write-in', 'write-in'] })).toEqual([])
    expect(paperEntryIssues([gov], {})).toEqual([])
  })

  it('names every field it refuses: a contest not audited, a line the contest lacks, a line twice', () => {
    expect(paperEntryIssues([gov, council], { mayor: ['x'], gov: ['zed', 'ada', 'ada'], council: ['write-in'] })).toEqual([
      { path: 'marks.mayor', message: 'not a contest of this audit' },
      { path: 'marks.gov.0', message: 'gov has no line zed' },
      { path: 'marks.gov.2', message: 'ada marked twice' },
      { path: 'marks.council.0', message: 'council has no line write-in' },
    ])
    // Own keys only: a contest called `constructor` is not Object's.
    expect(paperEntryIssues([gov], JSON.parse('{"constructor": ["x"]}'))).toHaveLength(1)
  })
})

describe("an audit board's full hand count", () => {
  it('covers every audited contest with lines it has, within what its ballots hold', () => {
    expect(handCountIssues([gov, council], { gov: { ada: 9, 'write-in': 1 }, council: { a: 12, b: 8 } }, 10)).toEqual([])
    expect(handCountIssues([gov, council], { gov: { ada: 11, nobody: 0 }, other: {} }, 10)).toEqual([
      { path: 'contests.other', message: 'not a contest of this audit' },
      { path: 'contests.gov.nobody', message: 'gov has no line nobody' },
      { path: 'contests.gov', message: '11 votes: more than 10 ballots × 1 could hold' },
      { path: 'contests.council', message: 'missing: the hand count covers every audited contest' },
    ])
  })
})

describe('a paper the board did not find', () => {
  it('counts against the reported winner in ballot polling: as a ballot for every loser', () => {
    const reported: ReportedContest = { rules: gov, votes: { ada: 600, bob: 400 }, ballots: 1000 }
    const found = bravoAudit([reported], 0.05, [{ gov: ['ada'] }, { gov: ['bob'] }])[0]?.pairs[0]
    const lost = bravoAudit([reported], 0.05, [{ gov: ['ada'] }, null])[0]?.pairs[0]
    expect(found).toMatchObject({ winnerBallots: 1, loserBallots: 1 })
    expect(lost).toMatchObject({ winnerBallots: 1, loserBallots: 1, T: found?.T })
  })
})

describe('what a board may send', () => {
  it('names, never drops, keys outside the id rule, and answers a flood of bad keys briefly', () => {
    const proto = paperEntrySchema.safeParse(JSON.parse('{"marks": {"__proto__": ["a"]}}'))
    expect(proto.success).toBe(false)
    expect(handCountSchema.safeParse(JSON.parse('{"gov": {"__proto__": 1}}')).success).toBe(false)
    const flood = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`c${i}`, []]))
    const issues = paperEntryIssues([gov], flood)
    expect(issues).toHaveLength(MAX_ENTRY_ISSUES + 1)
    expect(issues.at(-1)).toEqual({ path: '(body)', message: `and ${5000 - MAX_ENTRY_ISSUES} more problems` })
  })
})
