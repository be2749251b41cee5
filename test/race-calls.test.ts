import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { type ConsumedMessage, countBatch } from '../lib/counting/count-batch.ts'
import { setElectionStatus } from '../lib/db/elections.ts'
import { recordCall, retractCall } from '../lib/db/race-calls.ts'
import { loadResults } from '../lib/db/results.ts'
import { takeResultsVersion } from '../lib/db/versions.ts'
import { startApiHarness } from './api-harness.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { startTally, type TallyProcess } from './processes.ts'

let h: Awaited<ReturnType<typeof startApiHarness>>
let tally: TallyProcess

beforeAll(async () => {
  h = await startApiHarness()
  tally = await startTally({ name: 'tally-for-race-calls' })
  await tally.waitHealthy()
})
afterAll(async () => {
  await tally?.stop()
  await h?.close()
})

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let v = await read()
  while (!done(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    v = await read()
  }
  return v
}

interface Snapshot {
  status: string
  version: number
  totals: { counted: number }
  call: { candidateId: string; status: string } | null
  regions: Array<{ id: string; call: { candidateId: string; status: string } | null }>
  changedSince?: { candidates: string[] }
}

describe('race calls', () => {
  it('are not made while a live election can still be overturned, and agree with the certified count', async () => {
    const id = `rc-${randomUUID().slice(0, 8)}`
    const created = await h.request('/elections', {
      method: 'POST',
      headers: h.admin,
      body: JSON.stringify({
        id,
        name: 'Declared two, registered ten',
        start: false,
        candidates: [
          { id: 'ada', name: 'Ada' },
          { id: 'bob', name: 'Bob' },
        ],
        regions: [{ id: 'north', name: 'North', state: 'N', registeredVoters: 10 }],
      }),
    })
    expect(created.status).toBe(201)
    const reg = await h.request(`/elections/${id}/voters`, {
      method: 'POST',
      headers: h.admin,
      body: JSON.stringify({ voters: Array.from({ length: 10 }, (_, i) => ({ id: `v${i}`, regionId: 'north' })) }),
    })
    const { voters } = (await reg.json()) as { voters: Array<{ id: string; token: string }> }
    expect((await h.request(`/elections/${id}/start`, { method: 'POST', headers: h.admin })).status).toBe(202)
    const results = async () => (await (await h.request(`/elections/${id}/results`)).json()) as Snapshot
    await until(results, (s) => s.status === 'open')
    const cast = (token: string, candidateId: string) =>
      h.request(`/elections/${id}/ballots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ candidateId }),
      })

    for (const v of voters.slice(0, 2)) expect((await cast(v.token, 'ada')).status).toBe(202)
    const early = await until(results, (s) => s.totals.counted === 2)
    // Two ballots for Ada, more than the declared roll: still no call, eight voters could vote.
    expect(early.call).toBeNull()
    expect(early.regions[0]?.call).toBeNull()
    for (const v of voters.slice(2, 7)) expect((await cast(v.token, 'bob')).status).toBe(202)
    await until(results, (s) => s.totals.counted === 7)
    expect((await h.request(`/elections/${id}/stop`, { method: 'POST', headers: h.admin })).status).toBe(202)
    const final = await until(results, (s) => s.status === 'certified', 60_000)
    expect(final.status).toBe('certified')
    expect(final.call).toMatchObject({ candidateId: 'bob', status: 'standing' })
    expect(final.regions[0]?.call).toMatchObject({ candidateId: 'bob', status: 'standing' })
    const calls = await h.sql<{ candidateId: string }[]>`select candidate_id from race_calls where election_id = ${id}`
    expect(calls.map((c) => c.candidateId)).toEqual(['bob', 'bob'])
  }, 120_000)

  it('are never written by a read: GET, since and the stream leave the database as it was', async () => {
    const e = await openTestElection(h.sql)
    const topic = `rc-${e.id}`
    await countBatch(h.sql, {
      groupId: 'test',
      topic,
      messages: [0, 1, 2].map((i) => ({
        partition: 0,
        offset: String(i),
        value: encodeBallot(ballot(e.id, `north-${i}`, i < 2 ? 'ada' : 'alan', 'north')),
      })),
    })
    await setElectionStatus(h.sql, e.id, 'closing')
    await setElectionStatus(h.sql, e.id, 'closed') // counted and closed: the old read path called it here
    const state = async () => {
      const [row] = await h.sql<{ sequence: string; calls: number; version: string }[]>`
        select (select last_value::text from results_version) as sequence,
               (select count(*)::int from race_calls where election_id = ${e.id}) as calls,
               (select version::text from elections where id = ${e.id}) as version`
      return row
    }
    const before = await state()
    for (let i = 0; i < 10; i++) {
      expect((await h.request(`/elections/${e.id}/results`)).status).toBe(200)
      expect((await h.request(`/elections/${e.id}/results?since=0`)).status).toBe(200)
    }
    const stream = await h.request(`/elections/${e.id}/results/stream`)
    const reader = stream.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toMatch(/event: results/)
    await reader.cancel()
    expect(await state()).toEqual(before)
    expect((await loadResults(h.sql, e.id)).call).toBeNull()
  })
})

describe('results versions', () => {
  it('become visible in commit order, so a client following since=N misses nothing', async () => {
    const e = await openTestElection(h.sql)
    const topic = `versions-${e.id}`
    const seen = await loadResults(h.sql, e.id)
    let release: () => void = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const batch = (partition: number, voter: string, candidate: string): ConsumedMessage[] => [
      { partition, offset: '0', value: encodeBallot(ballot(e.id, voter, candidate, 'north')) },
      { partition, offset: '1', value: Buffer.from('not a ballot'), electionHeader: e.id },
    ]
    // Instance A takes its version, then holds its commit; instance B counts meanwhile.
    let aCommitted = false
    const a = countBatch(h.sql, { groupId: 'test', topic, messages: batch(0, 'north-0', 'ada') }, () => held).then((o) => {
      aCommitted = true
      return o
    })
    await new Promise((r) => setTimeout(r, 200))
    let bCommittedBeforeA: boolean | undefined
    const b = countBatch(h.sql, { groupId: 'test', topic, messages: batch(1, 'north-1', 'alan') }).then((o) => {
      bCommittedBeforeA = !aCommitted
      return o
    })
    await new Promise((r) => setTimeout(r, 300))
    // While A holds its commit, nothing newer than what the client has is visible.
    const during = await loadResults(h.sql, e.id, { since: seen.version })
    expect(during.changedSince?.candidates).toEqual([])
    release()
    await Promise.all([a, b])
    expect(bCommittedBeforeA).toBe(false)
    const after = await loadResults(h.sql, e.id, { since: seen.version })
    expect(after.changedSince?.candidates).toEqual(['ada', 'alan'])
    const rows = await h.sql<{ candidateId: string; version: string }[]>`
      select candidate_id, version::text from tally_counts where election_id = ${e.id} order by version`
    expect(rows.map((r) => r.candidateId)).toEqual(['ada', 'alan'])
  })

  it('names in since=N a region whose call was made or retracted since, no count having moved', async () => {
    const e = await openTestElection(h.sql)
    await countBatch(h.sql, {
      groupId: 'test',
      topic: `calls-since-${e.id}`,
      messages: [{ partition: 0, offset: '0', value: encodeBallot(ballot(e.id, 'north-0', 'ada', 'north')) }],
    })
    const counted = await loadResults(h.sql, e.id)
    expect(counted.changedSince).toBeUndefined()
    const decision = { candidateId: 'ada', rule: 'test', figures: { lead: 1, outstanding: 0, leaderVotes: 1, runnerUpVotes: 0 } }
    await h.sql.begin(async (tx) => recordCall(tx, e.id, 'north', decision, await takeResultsVersion(tx, [e.id])))
    const called = await loadResults(h.sql, e.id, { since: counted.version })
    expect(called.version).toBeGreaterThan(counted.version)
    expect(called.changedSince?.regions).toEqual(['north'])
    const [call] = await h.sql<{ id: string }[]>`select id::text from race_calls where election_id = ${e.id}`
    await h.sql.begin(async (tx) => retractCall(tx, call?.id ?? '', 'test', await takeResultsVersion(tx, [e.id])))
    const retracted = await loadResults(h.sql, e.id, { since: called.version })
    expect(retracted.changedSince?.regions).toEqual(['north'])
    expect((await loadResults(h.sql, e.id, { since: retracted.version })).changedSince?.regions).toEqual([])
  })
})
