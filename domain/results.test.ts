import { describe, expect, it } from 'vitest'
import { contradiction, decideCall, outstandingBallots } from './results.ts'

const votes = [
  { id: 'ada', votes: 600 },
  { id: 'alan', votes: 300 },
]
const facts = { status: 'open' as const, simulated: true, planned: 1300, counted: 900, backlog: null }

describe('what can still come', () => {
  it('is unbounded for a live election while voters can still register', () => {
    expect(outstandingBallots({ ...facts, simulated: false })).toBeNull()
  })
  it("is the generator's plan not yet counted for a simulated one", () => {
    expect(outstandingBallots(facts)).toMatchObject({ outstanding: 400 })
  })
  it('is the uncounted log once the polls close, and nothing once counting is done', () => {
    expect(outstandingBallots({ ...facts, status: 'closing', backlog: 17 })).toMatchObject({ outstanding: 17 })
    expect(outstandingBallots({ ...facts, status: 'closing', backlog: null })).toBeNull()
    expect(outstandingBallots({ ...facts, status: 'closed' })).toMatchObject({ outstanding: 0 })
  })
})

describe('calling a race', () => {
  it('waits while what can still come could overturn the lead', () => {
    expect(decideCall(votes, { outstanding: 300, rule: 'r' })).toBeNull()
    expect(decideCall(votes, null)).toBeNull()
  })
  it('calls it when the lead exceeds everything still to come', () => {
    expect(decideCall(votes, { outstanding: 299, rule: 'r' })).toMatchObject({
      candidateId: 'ada',
      rule: 'r',
      figures: { lead: 300, outstanding: 299, leaderVotes: 600, runnerUpVotes: 300 },
    })
  })
  it('never calls a tie or an empty race', () => {
    const tie = [
      { id: 'a', votes: 5 },
      { id: 'b', votes: 5 },
    ]
    expect(decideCall(tie, { outstanding: 0, rule: 'r' })).toBeNull()
    expect(decideCall([], { outstanding: 0, rule: 'r' })).toBeNull()
  })
  it('sees a call contradicted once a rival catches up', () => {
    expect(contradiction({ candidateId: 'ada' }, votes)).toBeNull()
    expect(contradiction({ candidateId: 'alan' }, votes)).toMatch(/ada has 600 votes against 300/)
  })
})
