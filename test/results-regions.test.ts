import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { addVoters, createElection, setElectionStatus } from '../lib/db/elections.ts'
import { startApiHarness } from './api-harness.ts'
import { ballot } from './fixtures/elections.ts'

let h: Awaited<ReturnType<typeof startApiHarness>>
beforeAll(async () => {
  h = await startApiHarness()
})
afterAll(() => h?.close())

async function election(regionCount: number, states: string[]) {
  const id = `geo-${Math.random().toString(36).slice(2, 10)}`
  const regions = Array.from({ length: regionCount }, (_, i) => ({
    id: `r${i}`,
    name: `Region ${i}`,
    state: states[i % states.length] ?? 'S',
    registeredVoters: 10,
  }))
  await createElection(h.sql, { id, name: 'Regions', candidates: ['ada', 'bob', 'cy'].map((c) => ({ id: c, name: c })), regions })
  await addVoters(
    h.sql,
    id,
    regions.flatMap((r) => Array.from({ length: 10 }, (_, i) => ({ id: `${r.id}-v${i}`, regionId: r.id }))),
  )
  await setElectionStatus(h.sql, id, 'open')
  return id
}

describe('results by region, state and channel', () => {
  it('shows each region its leader and margin, rolls regions up by state and counts per channel', async () => {
    const id = await election(3, ['North', 'South'])
    const votes: Array<[string, string, string, 'election_day' | 'mail' | 'early']> = [
      ['r0', 'ada', 'r0-v0', 'election_day'],
      ['r0', 'ada', 'r0-v1', 'mail'],
      ['r0', 'bob', 'r0-v2', 'early'],
      ['r1', 'bob', 'r1-v0', 'election_day'],
      ['r2', 'cy', 'r2-v0', 'mail'],
      ['r2', 'bob', 'r2-v1', 'mail'],
    ]
    await countBatch(h.sql, {
      groupId: 'test',
      topic: `geo-${id}`,
      messages: votes.map(([region, candidate, voter, channel], i) => ({
        partition: 0,
        offset: String(i),
        value: encodeBallot(ballot(id, voter, candidate, region, { channel })),
      })),
    })
    const s = await (await h.request(`/elections/${id}/results`)).json()
    const r0 = s.regions.find((r: { id: string }) => r.id === 'r0')
    expect(r0).toMatchObject({ leader: 'ada', margin: 1, ballots: 3, expected: 10, shareCounted: 0.3 })
    expect(s.regions.find((r: { id: string }) => r.id === 'r2')).toMatchObject({ leader: null, margin: 0 }) // a tie
    expect(s.states).toEqual([
      expect.objectContaining({ state: 'North', regions: 2, ballots: 5, leader: null, margin: 0 }), // ada 2, bob 2
      expect.objectContaining({ state: 'South', regions: 1, ballots: 1, leader: 'bob', margin: 1 }),
    ])
    expect(s.channels).toEqual([
      { channel: 'election_day', ballots: 2 },
      { channel: 'early', ballots: 1 },
      { channel: 'mail', ballots: 3 },
    ])
    const page = await (await h.request(`/elections/${id}/regions?state=North&limit=1&offset=1`)).json()
    expect(page).toMatchObject({ total: 2, offset: 1, regions: [{ id: 'r2' }] })
    const one = await (await h.request(`/elections/${id}/regions/r0`)).json()
    expect(one.candidates.map((c: { id: string; votes: number }) => [c.id, c.votes])).toEqual([
      ['ada', 2],
      ['bob', 1],
      ['cy', 0],
    ])
    expect(one.channels).toEqual([
      { channel: 'election_day', ballots: 1 },
      { channel: 'early', ballots: 1 },
      { channel: 'mail', ballots: 1 },
    ])
    expect((await h.request(`/elections/${id}/regions/r9`)).status).toBe(404)
  })

  it('keeps the snapshot small past 500 regions, which are then paged', async () => {
    const id = await election(2000, ['A', 'B', 'C', 'D'])
    const started = performance.now()
    const res = await h.request(`/elections/${id}/results`)
    const ms = performance.now() - started
    const text = await res.text()
    const s = JSON.parse(text)
    console.log(`results snapshot of 2,000 regions: ${text.length.toLocaleString('en-US')} bytes in ${ms.toFixed(0)} ms`)
    expect(s).toMatchObject({ regionsListed: false, regionCount: 2000, regions: [] })
    expect(s.states).toHaveLength(4)
    const page = await (await h.request(`/elections/${id}/regions?limit=1000`)).json()
    expect(page.total).toBe(2000)
    expect(page.regions).toHaveLength(1000)
  })
})
