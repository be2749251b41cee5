import { MockActivityEnvironment } from '@temporalio/testing'
import { afterAll, describe, expect, it } from 'vitest'
import type { ActivityDeps } from '../activities/deps.ts'
import { createRaceCallActivities } from '../activities/race-calls.ts'
import { encodeBallot } from '../domain/ballot.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { setElectionStatus } from '../lib/db/elections.ts'
import { recordCall } from '../lib/db/race-calls.ts'
import { loadResults } from '../lib/db/results.ts'
import { takeResultsVersion } from '../lib/db/versions.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))
const acts = createRaceCallActivities({ sql, tallyGroupId: 'tally' } as ActivityDeps)
const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>

describe('a race call the counts contradict', () => {
  it('is retracted visibly, with its reason, and the final check calls the real leader', async () => {
    const e = await openTestElection(sql)
    const topic = `retract-${e.id}`
    // A call for alan, as a bug might have written it, while ada leads 2 to 1.
    await sql.begin(async (tx) => {
      const version = await takeResultsVersion(tx, [e.id])
      await recordCall(
        tx,
        e.id,
        null,
        { candidateId: 'alan', rule: 'a bug', figures: { lead: 1, outstanding: 0, leaderVotes: 1, runnerUpVotes: 0 } },
        version,
      )
    })
    await countBatch(sql, {
      groupId: 'test',
      topic,
      messages: ['ada', 'ada', 'alan'].map((c, i) => ({
        partition: 0,
        offset: String(i),
        value: encodeBallot(ballot(e.id, `north-${i}`, c, 'north')),
      })),
    })
    const decided = await run(() => acts.decideRaceCalls(e.id))
    expect(decided.retracted).toEqual([{ regionId: null, candidateId: 'alan', reason: expect.stringMatching(/ada has 2 votes against 1/) }])
    const shown = await loadResults(sql, e.id)
    expect(shown.call).toMatchObject({ candidateId: 'alan', status: 'retracted', retraction: { reason: expect.stringMatching(/ada/) } })

    await setElectionStatus(sql, e.id, 'closing')
    await setElectionStatus(sql, e.id, 'closed')
    const final = await run(() => acts.checkRaceCallsAgainstFinalCount(e.id))
    expect(final.called).toContainEqual({ regionId: null, candidateId: 'ada' })
    expect((await loadResults(sql, e.id)).call).toMatchObject({ candidateId: 'ada', status: 'standing' })
  })
})
