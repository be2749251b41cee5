import { describe, expect, it } from 'vitest'
import { decideCall } from './results.ts'

const votes = [
  { id: 'ada', votes: 600 },
  { id: 'alan', votes: 300 },
]

describe('calling a race', () => {
  it('waits while the voters yet to vote could still overturn the lead', () => {
    expect(decideCall({ votes, status: 'open', registeredVoters: 1300, counted: 900, rejected: 0, produced: null })).toBeNull()
  })
  it('calls it when the lead exceeds every registered voter who has not voted', () => {
    const call = decideCall({ votes, status: 'open', registeredVoters: 1100, counted: 900, rejected: 0, produced: null })
    expect(call).toMatchObject({ candidateId: 'ada', figures: { lead: 300, outstanding: 200 } })
  })
  it('once polls close, weighs the lead against ballots produced but not counted', () => {
    const closed = { votes, status: 'closing' as const, registeredVoters: 10_000, counted: 900, rejected: 50 }
    expect(decideCall({ ...closed, produced: 1300 })).toBeNull()
    expect(decideCall({ ...closed, produced: 1200 })?.rule).toMatch(/produced but not yet counted/)
  })
  it('never calls a tie or an empty race', () => {
    expect(
      decideCall({
        votes: [
          { id: 'a', votes: 5 },
          { id: 'b', votes: 5 },
        ],
        status: 'closed',
        registeredVoters: 10,
        counted: 10,
        rejected: 0,
        produced: 10,
      }),
    ).toBeNull()
    expect(decideCall({ votes: [], status: 'closed', registeredVoters: 0, counted: 0, rejected: 0, produced: 0 })).toBeNull()
  })
})

describe('calling a race once everything is counted', () => {
  it('calls the leader of a closed count, however small the lead', () => {
    const call = decideCall({
      votes: [
        { id: 'a', votes: 2 },
        { id: 'b', votes: 1 },
      ],
      status: 'closed',
      registeredVoters: 5,
      counted: 3,
      rejected: 0,
      produced: null,
    })
    expect(call).toMatchObject({ candidateId: 'a', rule: 'polls closed and every ballot counted', figures: { outstanding: 0 } })
  })
})
