import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { accountBatch } from '../lib/counting/account-batch.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

/**
 * The last resort of the tally: a message that passes every check of the contract and
 * still makes PostgreSQL refuse its batch. Hostile input the contract knows of is in
 * hostile-input.test.ts; this is what is left when a rule exists only in the database.
 */
const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

describe('a message the database refuses although the contract accepts it', () => {
  it('is found by splitting the batch and rejected as unprocessable with the reason, and the rest are counted', async () => {
    const e = await openTestElection(sql)
    const t = `split-${e.id}`
    // A rule the contract does not know, as a future constraint or a bug might add.
    const constraint = `poison_${e.id.replaceAll('-', '_')}`
    await sql.unsafe(`alter table ballots add constraint ${constraint} check (voter_id <> 'north-7' or election_id <> '${e.id}') not valid`)
    try {
      const messages = Array.from({ length: 16 }, (_, i) => ({
        partition: 0,
        offset: String(i),
        value: encodeBallot(ballot(e.id, `north-${i}`, 'ada', 'north')),
      }))
      const set: string[] = []
      const outcomes = await accountBatch(
        sql,
        { groupId: 'split', topic: t, messages },
        {
          beforeRetry: async (err) => {
            throw err
          },
          onUnprocessable: (m) => set.push(m.offset),
        },
      )
      expect(set).toEqual(['7'])
      expect(outcomes.reduce((n, o) => n + o.counted, 0)).toBe(15)
      const [row] = await sql<{ reason: string; detail: string }[]>`
        select reason, detail from rejected_ballots where topic = ${t} and kafka_offset = 7`
      expect(row?.reason).toBe('unprocessable')
      expect(row?.detail).toMatch(new RegExp(constraint))
      for (const r of await messageLedger(sql, { groupId: 'split', topic: t })) expect(r.balanced).toBe(true)
    } finally {
      await sql.unsafe(`alter table ballots drop constraint ${constraint}`)
    }
  })
})
