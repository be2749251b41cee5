import { describe, expect, expectTypeOf, it } from 'vitest'
import { electionWorkflow } from '../workflows/election.ts'
import { ELECTION_WORKFLOW_TYPE, type ElectionWorkflow } from './election-workflow-contract.ts'

describe('the election workflow contract', () => {
  it('names and types the workflow that implements it, so a client starts it without importing it', () => {
    expect(electionWorkflow.name).toBe(ELECTION_WORKFLOW_TYPE)
    expectTypeOf(electionWorkflow).toEqualTypeOf<ElectionWorkflow>()
  })
})
