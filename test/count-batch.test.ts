import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { setElectionStatus } from '../lib/db/elections.ts'
import { type ConsumedMessage, countBatch } from '../services/tally/count-batch.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

let nextOffset = 0
const asMessages = (values: Array<Buffer | string>, partition = 0): ConsumedMessage[] =>
  values.map((v) => ({ partition, offset: String(nextOffset++), value: typeof v === 'string' ? Buffer.from(v) : v }))

async function tallies(electionId: string) {
  const rows = await sql<
    { candidateId: string; votes: number }[]
  >`select candidate_id, votes::int from tallies where election_id = ${electionId}`
  return Object.fromEntries(rows.map((r) => [r.candidateId, r.votes]))
}

describe('counting one batch in PostgreSQL', () => {
  it('counts valid ballots and records each invalid one with its reason', async () => {
    const e = await openTestElection(sql)
    const closed = await openTestElection(sql, { status: 'draft' })
    const good = [
      ballot(e.id, 'north-0', 'ada', 'north'),
      ballot(e.id, 'north-1', 'ada', 'north'),
      ballot(e.id, 'south-0', 'alan', 'south', { channel: 'mail' }),
    ]
    const dup = ballot(e.id, 'north-0', 'grace', 'north')
    const bad = {
      unknown_election: ballot('no-such-election', 'north-2', 'ada', 'north'),
      election_not_open: ballot(closed.id, 'north-2', 'ada', 'north'),
      unknown_candidate: ballot(e.id, 'north-3', 'zorro', 'north'),
      unknown_region: ballot(e.id, 'north-4', 'ada', 'atlantis'),
      voter_not_registered: ballot(e.id, 'stranger', 'ada', 'north'),
      wrong_region: ballot(e.id, 'north-5', 'ada', 'south'),
      duplicate_ballot_id: ballot(e.id, 'north-6', 'ada', 'north', { ballotId: good[2]!.ballotId }),
    }
    const messages = asMessages([
      ...good.map(encodeBallot),
      encodeBallot(dup),
      ...Object.values(bad).map(encodeBallot),
      `not json at all ${e.id}`,
      JSON.stringify({ ...good[0], channel: 'carrier-pigeon', ballotId: '6f1c1c53-8a4b-4c53-9d4e-2f1a4f7a9b10' }),
    ])
    const out = await countBatch(sql, { groupId: 'test', topic: 'votes', messages })
    expect(out.counted).toBe(3)
    expect(await tallies(e.id)).toEqual({ ada: 2, alan: 1 })
    const reasons = new Map(out.rejected.map((r) => [r.ballotId ?? r.detail, r.reason]))
    expect(reasons.get(dup.ballotId)).toBe('duplicate_voter')
    for (const [reason, b] of Object.entries(bad)) {
      if (reason !== 'duplicate_ballot_id') expect(reasons.get(b.ballotId)).toBe(reason)
    }
    expect(out.rejected.map((r) => r.reason).sort()).toEqual([...Object.keys(bad), 'duplicate_voter', 'malformed', 'invalid_schema'].sort())
    const [turnout] = await sql<{ ballots: number }[]>`select ballots::int from turnout where election_id = ${e.id} and region_id = 'north'`
    expect(turnout?.ballots).toBe(2)
  })

  it('counts nothing twice when the same batch is delivered again', async () => {
    const e = await openTestElection(sql)
    const values = [ballot(e.id, 'north-0', 'ada', 'north'), ballot(e.id, 'south-1', 'grace', 'south')].map(encodeBallot)
    values.push(Buffer.from(`{"broken": "${e.id}"`))
    const messages = asMessages(values, 1)
    const first = await countBatch(sql, { groupId: 'test', topic: 'votes', messages })
    const again = await countBatch(sql, { groupId: 'test', topic: 'votes', messages })
    expect(first).toMatchObject({ counted: 2, alreadyCounted: 0 })
    expect(first.rejected).toHaveLength(1)
    expect(again).toMatchObject({ counted: 0, alreadyCounted: 2, rejected: [] })
    expect(await tallies(e.id)).toEqual({ ada: 1, grace: 1 })
  })

  it('stores the next offset of each partition with the counts', async () => {
    const e = await openTestElection(sql)
    const group = `offsets-${e.id}`
    const messages = [
      { partition: 2, offset: '41', value: encodeBallot(ballot(e.id, 'north-0', 'ada', 'north')) },
      { partition: 2, offset: '42', value: encodeBallot(ballot(e.id, 'north-1', 'ada', 'north')) },
      { partition: 3, offset: '7', value: encodeBallot(ballot(e.id, 'south-0', 'ada', 'south')) },
    ]
    await countBatch(sql, { groupId: group, topic: 'votes', messages })
    const rows = await sql<{ partition: number; nextOffset: string }[]>`
      select partition, next_offset::text from consumer_offsets where group_id = ${group} order by partition`
    expect(rows).toEqual([
      { partition: 2, nextOffset: '43' },
      { partition: 3, nextOffset: '8' },
    ])
  })

  it('after polls close, counts ballots cast before closing and rejects later ones', async () => {
    const e = await openTestElection(sql)
    const before = ballot(e.id, 'north-0', 'ada', 'north', { castAt: new Date(Date.now() - 60_000).toISOString() })
    await setElectionStatus(sql, e.id, 'closing')
    const after = ballot(e.id, 'north-1', 'ada', 'north', { castAt: new Date(Date.now() + 60_000).toISOString() })
    const out = await countBatch(sql, {
      groupId: 'test',
      topic: 'votes',
      messages: asMessages([encodeBallot(before), encodeBallot(after)]),
    })
    expect(out.counted).toBe(1)
    expect(out.rejected.map((r) => r.reason)).toEqual(['election_not_open'])
  })

  it('keeps the running tallies equal to a recount of the ballots', async () => {
    const [row] = await sql<{ drift: number }[]>`
      select count(*)::int as drift from (
        select election_id, candidate_id, count(*) as n from ballots group by 1, 2
      ) b full join tallies t using (election_id, candidate_id)
      where b.n is distinct from t.votes`
    expect(row?.drift).toBe(0)
  })
})

describe('a rejection', () => {
  it('of a well-formed ballot keeps the bytes as they were sent, spacing and key order included', async () => {
    const b = ballot('no-such-election', 'v1', 'ada', 'north')
    const raw = Buffer.from(`{ "castAt": "${b.castAt}",  "v": 1, "ballotId": "${b.ballotId}", "electionId": "no-such-election",
      "voterId": "v1", "candidateId": "ada", "regionId": "north", "channel": "election_day" }`)
    const out = await countBatch(sql, { groupId: 'test', topic: 'votes', messages: asMessages([raw], 4) })
    expect(out.rejected[0]?.reason).toBe('unknown_election')
    const [row] = await sql<{ raw: Buffer }[]>`select raw from rejected_ballots where dedupe_key = ${out.rejected[0]!.dedupeKey}`
    expect(Buffer.compare(row!.raw, raw)).toBe(0)
  })

  it('keeps the original bytes exactly', async () => {
    const raw = Buffer.from([0x7b, 0x00, 0xff, 0x5c, 0x78, 0x22, 0x0a, ...Buffer.from(String(Math.random()))])
    const out = await countBatch(sql, { groupId: 'test', topic: 'votes', messages: asMessages([raw], 4) })
    expect(out.rejected[0]?.reason).toBe('malformed')
    const [row] = await sql<{ raw: Buffer }[]>`select raw from rejected_ballots where dedupe_key = ${out.rejected[0]!.dedupeKey}`
    expect(Buffer.compare(row!.raw, raw)).toBe(0)
  })
})
