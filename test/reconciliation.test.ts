import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { repairDifferences, simulationComparison } from '../lib/db/reconciliation.ts'
import { loadResults, resultsVersion } from '../lib/db/results.ts'
import { storeSimulationTruth } from '../lib/db/simulation.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

describe("a simulation's truth next to its count", () => {
  it('keeps a rejection reason that another election injected and this one did not', async () => {
    const mine = await openTestElection(sql)
    const other = await openTestElection(sql)
    await storeSimulationTruth(sql, other.id, { votes: new Map(), rejections: new Map([['unknown_region', 3]]) })
    await storeSimulationTruth(sql, mine.id, { votes: new Map(), rejections: new Map([['malformed', 1]]) })
    await sql`
      insert into rejected_ballots (topic, kafka_partition, kafka_offset, election_id, reason, detail, raw, version)
      values (${`recon-${mine.id}`}, 0, 0, ${mine.id}, 'unknown_region', 'x', '\\x00', 0),
             (${`recon-${mine.id}`}, 0, 1, ${mine.id}, 'malformed', 'x', '\\x00', 0)`
    const { rejections } = await simulationComparison(sql, mine.id)
    expect(rejections).toEqual([
      { reason: 'malformed', injected: 1, rejected: 1 },
      { reason: 'unknown_region', injected: 0, rejected: 1 },
    ])
  })
})

describe('a repair of the running counts', () => {
  it('moves the results version even when it only deletes a phantom row, so readers see the repaired counts', async () => {
    const e = await openTestElection(sql)
    await countBatch(sql, {
      groupId: 'repair-test',
      topic: `repair-${e.id}`,
      messages: [{ partition: 0, offset: '0', value: encodeBallot(ballot(e.id, 'north-0', 'ada', 'north')) }],
    })
    // A phantom count (no ballot behind it), written at an old version as a bug might.
    await sql`insert into tally_counts (election_id, candidate_id, region_id, channel, kafka_partition, votes, version)
              values (${e.id}, 'alan', 'north', 'mail', 0, 5, 1)`
    const before = await resultsVersion(sql, e.id)
    const repaired = await repairDifferences(sql, e.id)
    expect(repaired.map((d) => d.candidateId)).toEqual(['alan'])
    const after = await resultsVersion(sql, e.id)
    expect(BigInt(after ?? '0')).toBeGreaterThan(BigInt(before ?? '0'))
    expect((await loadResults(sql, e.id)).candidates.find((c) => c.id === 'alan')?.votes).toBe(0)
  })
})
