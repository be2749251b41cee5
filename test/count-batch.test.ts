import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { BALLOTS_KEY } from '../domain/contests.ts'
import { type ConsumedMessage, countBatch } from '../lib/counting/count-batch.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { setElectionStatus } from '../lib/db/elections.ts'
import { storeCloseMarks } from '../lib/db/polls.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

/** Every test writes to a topic of its own, so positions and the ledger are its own too. */
function topicOfItsOwn() {
  const topic = `test-${randomUUID().slice(0, 8)}`
  let next = 0
  const at = (values: Array<Buffer | string | null>, partition = 0): ConsumedMessage[] =>
    values.map((v) => ({ partition, offset: String(next++), value: typeof v === 'string' ? Buffer.from(v) : v }))
  const count = (messages: ConsumedMessage[]) => countBatch(sql, { groupId: 'test', topic, messages })
  return { topic, at, count }
}

async function tallies(electionId: string) {
  const rows = await sql<
    { candidateId: string; votes: number }[]
  >`select candidate_id, votes::int from tallies where election_id = ${electionId}`
  return Object.fromEntries(rows.map((r) => [r.candidateId, r.votes]))
}

async function expectLedgerBalanced(topic: string, messages: number) {
  const rows = await messageLedger(sql, { groupId: 'test', topic })
  expect(rows.reduce((s, r) => s + Number(r.messages), 0)).toBe(messages)
  for (const r of rows) expect(r, `partition ${r.partition}`).toMatchObject({ balanced: true })
}

describe('counting one batch in PostgreSQL', () => {
  it('counts valid ballots and records each invalid one with its reason', async () => {
    const { topic, at, count } = topicOfItsOwn()
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
      cast_in_future: ballot(e.id, 'north-7', 'ada', 'north', { castAt: new Date(Date.now() + 3_600_000).toISOString() }),
      cast_before_open: ballot(e.id, 'north-8', 'ada', 'north', { castAt: '2001-01-01T00:00:00Z' }),
      unknown_candidate: ballot(e.id, 'north-3', 'zorro', 'north'),
      unknown_region: ballot(e.id, 'north-4', 'ada', 'atlantis'),
      voter_not_registered: ballot(e.id, 'stranger', 'ada', 'north'),
      wrong_region: ballot(e.id, 'north-5', 'ada', 'south'),
      duplicate_ballot_id: ballot(e.id, 'north-6', 'ada', 'north', { ballotId: good[2]!.ballotId }),
    }
    const messages = at([
      ...good.map(encodeBallot),
      encodeBallot(dup),
      ...Object.values(bad).map(encodeBallot),
      `not json at all ${e.id}`,
      JSON.stringify({ ...good[0], channel: 'carrier-pigeon', ballotId: '6f1c1c53-8a4b-4c53-9d4e-2f1a4f7a9b10' }),
    ])
    const out = await count(messages)
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
    await expectLedgerBalanced(topic, messages.length)
  })

  it('changes nothing when the same positions are delivered again', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const values = [ballot(e.id, 'north-0', 'ada', 'north'), ballot(e.id, 'south-1', 'grace', 'south')].map(encodeBallot)
    values.push(Buffer.from(`{"broken": "${e.id}"`))
    const messages = at(values, 1)
    const first = await count(messages)
    const again = await count(messages)
    expect(first).toMatchObject({ counted: 2, duplicates: 0, redelivered: 0 })
    expect(first.rejected).toHaveLength(1)
    expect(again).toMatchObject({ counted: 0, duplicates: 0, redelivered: 3, rejected: [] })
    expect(await tallies(e.id)).toEqual({ ada: 1, grace: 1 })
    await expectLedgerBalanced(topic, 3)
  })

  it('records a re-sent ballot as a duplicate of the counted one, whatever the case of its id', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const b = ballot(e.id, 'north-0', 'ada', 'north')
    const upper = Buffer.from(JSON.stringify({ ...b, ballotId: b.ballotId.toUpperCase() }))
    const first = await count(at([encodeBallot(b), upper]))
    const later = await count(at([upper], 2))
    expect(first).toMatchObject({ counted: 1, duplicates: 1, rejected: [] })
    expect(later).toMatchObject({ counted: 0, duplicates: 1, rejected: [] })
    const dups = await sql<{ kafkaPartition: number; originalOffset: string }[]>`
      select kafka_partition, original_offset::text from duplicate_ballots where topic = ${topic} order by kafka_partition`
    expect(dups).toEqual([
      { kafkaPartition: 0, originalOffset: '0' },
      { kafkaPartition: 2, originalOffset: '0' },
    ])
    expect(await tallies(e.id)).toEqual({ ada: 1 })
    await expectLedgerBalanced(topic, 3)
  })

  it('records distinct messages with the same bytes as distinct rejections', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const messages = [...at([null, ''], 0), ...at([null, 'null', 'null'], 1)]
    messages[1]!.electionHeader = 'some-election'
    const out = await count(messages)
    expect(out.rejected).toHaveLength(5)
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from rejected_ballots where topic = ${topic}`
    expect(row?.n).toBe(5)
    await expectLedgerBalanced(topic, 5)
  })

  it('keeps NUL and ids that break the id rule out of the database, and still records the message', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const messages = at([
      `{"v":1,"electionId":"${e.id}\\u0000"}`,
      `{"v":1,"electionId":"${e.id}","detail\\u0000":"\\u0000"}`,
      JSON.stringify(ballot(e.id, 'north-0', 'ada', 'north', { castAt: '0000-01-01T00:00:00Z' })),
      JSON.stringify(ballot(e.id, 'north-1', 'ada', 'north', { castAt: '0001-01-01T00:30:00+01:00' })),
      JSON.stringify(ballot(e.id, 'north-2', 'ada', 'north', { castAt: '275760-09-13T00:00:00Z' })),
    ])
    messages[0]!.electionHeader = `${e.id}\u0000`
    const out = await count(messages)
    expect(out.rejected.map((r) => r.reason)).toEqual(Array(5).fill('invalid_schema'))
    expect(out.rejected[0]?.electionId).toBeNull()
    expect(out.rejected[1]?.electionId).toBe(e.id)
    for (const r of out.rejected) expect(r.detail).not.toContain('\u0000')
    await expectLedgerBalanced(topic, 5)
  })

  it('stores the next offset of each partition with the counts', async () => {
    const e = await openTestElection(sql)
    const group = `offsets-${e.id}`
    const messages = [
      { partition: 2, offset: '41', value: encodeBallot(ballot(e.id, 'north-0', 'ada', 'north')) },
      { partition: 2, offset: '42', value: encodeBallot(ballot(e.id, 'north-1', 'ada', 'north')) },
      { partition: 3, offset: '7', value: encodeBallot(ballot(e.id, 'south-0', 'ada', 'south')) },
    ]
    await countBatch(sql, { groupId: group, topic: `test-${e.id}`, messages })
    const rows = await sql<{ partition: number; nextOffset: string; messages: string }[]>`
      select partition, next_offset::text, messages::text from consumer_offsets where group_id = ${group} order by partition`
    expect(rows).toEqual([
      { partition: 2, nextOffset: '43', messages: '2' },
      { partition: 3, nextOffset: '8', messages: '1' },
    ])
  })

  it('after polls close, decides by the position in the log, not by the castAt the producer wrote', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const early = at([encodeBallot(ballot(e.id, 'north-0', 'ada', 'north'))])
    // Polls close with the partition's end at offset 1: the message at 0 is in, later ones out.
    await setElectionStatus(sql, e.id, 'closing')
    await sql.begin((tx) => storeCloseMarks(tx, e.id, topic, { '0': '1' }, null))
    const backdated = ballot(e.id, 'north-1', 'ada', 'north', { castAt: new Date(Date.now() - 3_600_000).toISOString() })
    const out = await count([...early, ...at([encodeBallot(backdated)])])
    expect(out.counted).toBe(1)
    expect(out.rejected.map((r) => [r.ballotId, r.reason])).toEqual([[backdated.ballotId, 'election_not_open']])
  })

  it('counts nothing for an election whose counting has finished', async () => {
    const { at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    await setElectionStatus(sql, e.id, 'closing')
    await setElectionStatus(sql, e.id, 'closed')
    const out = await count(at([encodeBallot(ballot(e.id, 'north-0', 'ada', 'north'))]))
    expect(out.counted).toBe(0)
    expect(out.rejected.map((r) => r.reason)).toEqual(['election_not_open'])
  })

  it('counts a position once when it comes twice in one batch (a re-fetch merged with the fetch it repeats)', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const [first] = at([encodeBallot(ballot(e.id, 'north-0', 'ada', 'north'))])
    const [second] = at([encodeBallot(ballot(e.id, 'north-1', 'alan', 'north'))])
    const out = await count([first!, { ...first! }, second!, { ...second! }])
    expect(out).toMatchObject({ counted: 2, duplicates: 0, redelivered: 2 })
    expect(out.rejected).toEqual([])
    expect(await tallies(e.id)).toEqual({ ada: 1, alan: 1 })
    await expectLedgerBalanced(topic, 2)
  })

  it('moves the results version with each counting batch, read per partition, and not with a rejection after counting finished', async () => {
    const { at, count } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const version = async () => {
      const [row] = await sql<{ v: string; counted: string | null }[]>`
        select results_version(${e.id})::text as v,
               (select max(version)::text from tally_counts where election_id = ${e.id}) as counted`
      return row
    }
    const before = await version()
    await count([
      ...at([encodeBallot(ballot(e.id, 'north-0', 'ada', 'north'))], 0),
      ...at([encodeBallot(ballot(e.id, 'north-1', 'alan', 'north'))], 1),
    ])
    const first = await version()
    expect(BigInt(first?.v ?? 0)).toBeGreaterThan(BigInt(before?.v ?? 0))
    // The same maximum as every count row's (what results_version read before 0034).
    expect(first?.v).toBe(first?.counted)
    await count(at([encodeBallot(ballot(e.id, 'north-2', 'ada', 'north'))], 1))
    const second = await version()
    expect(BigInt(second?.v ?? 0)).toBeGreaterThan(BigInt(first?.v ?? 0))
    expect(second?.v).toBe(second?.counted)
    await setElectionStatus(sql, e.id, 'closing')
    await setElectionStatus(sql, e.id, 'closed')
    const closed = await version()
    // A late message naming the election is recorded, and takes no visible version.
    const late = await count(at([encodeBallot(ballot(e.id, 'north-3', 'ada', 'north'))], 1))
    expect(late.rejected.map((r) => r.reason)).toEqual(['election_not_open'])
    expect((await version())?.v).toBe(closed?.v)
  })

  it('keeps the running tallies equal to a recount of the ballots', async () => {
    const [row] = await sql<{ drift: number }[]>`
      select count(*)::int as drift from (
        -- A poll book entry of an election with contests counts as a ballot (BALLOTS_KEY).
        select election_id, coalesce(candidate_id, ${BALLOTS_KEY}) as candidate_id, count(*) as n from ballots group by 1, 2
      ) b full join tallies t using (election_id, candidate_id)
      where b.n is distinct from t.votes`
    expect(row?.drift).toBe(0)
  })
})

describe('a rejection', () => {
  async function rawOf(topic: string, offset: string) {
    const [row] = await sql<{ raw: Buffer }[]>`select raw from rejected_ballots where topic = ${topic} and kafka_offset = ${offset}`
    return row?.raw
  }

  it('of a well-formed ballot keeps the bytes as they were sent, spacing and key order included', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const b = ballot('no-such-election', 'v1', 'ada', 'north')
    const raw = Buffer.from(`{ "castAt": "${b.castAt}",  "v": 1, "ballotId": "${b.ballotId}", "electionId": "no-such-election",
      "voterId": "v1", "candidateId": "ada", "regionId": "north", "channel": "election_day" }`)
    const out = await count(at([raw], 4))
    expect(out.rejected[0]?.reason).toBe('unknown_election')
    expect(Buffer.compare((await rawOf(topic, out.rejected[0]!.offset))!, raw)).toBe(0)
  })

  it('keeps the original bytes exactly', async () => {
    const { topic, at, count } = topicOfItsOwn()
    const raw = Buffer.from([0x7b, 0x00, 0xff, 0x5c, 0x78, 0x22, 0x0a, ...Buffer.from(String(Math.random()))])
    const out = await count(at([raw], 4))
    expect(out.rejected[0]?.reason).toBe('malformed')
    expect(Buffer.compare((await rawOf(topic, out.rejected[0]!.offset))!, raw)).toBe(0)
  })
})
