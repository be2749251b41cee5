import { afterAll, describe, expect, it } from 'vitest'
import { simulationComparison } from '../lib/db/reconciliation.ts'
import { storeSimulationTruth } from '../lib/db/simulation.ts'
import { openTestElection } from './fixtures/elections.ts'
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
