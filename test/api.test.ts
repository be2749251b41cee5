import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { reconciliationResponseSchema } from '../domain/reconciliation.ts'
import { defaultPlan } from '../domain/simulation.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { createSimulatedElection } from '../lib/db/elections.ts'
import { waitUntil } from '../lib/wait.ts'
import { startApiHarness as start, type startApiHarness } from './api-harness.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { startTally, type TallyProcess } from './processes.ts'

let h: Awaited<ReturnType<typeof startApiHarness>>
let tally: TallyProcess

beforeAll(async () => {
  h = await start()
  tally = await startTally({ name: 'tally-for-api' })
  await tally.waitHealthy()
})
afterAll(async () => {
  await tally?.stop()
  await h?.close()
})

const elections = async () => Number((await h.sql<{ n: number }[]>`select count(*)::int as n from elections`)[0]?.n)
const voters = async () => Number((await h.sql<{ n: number }[]>`select count(*)::int as n from voters`)[0]?.n)

async function expectProblem(res: Response, status: number, detail?: RegExp) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = await res.json()
  expect(body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), requestId: expect.any(String) })
  expect(JSON.stringify(body)).not.toMatch(/\bat \w+ \(|node_modules/) // no stack traces
  if (detail) expect(body.detail).toMatch(detail)
  return body
}

const liveElection = (id: string) => ({
  id,
  name: `API ${id}`,
  start: false,
  candidates: [
    { id: 'ada', name: 'Ada Lovelace' },
    { id: 'alan', name: 'Alan Turing' },
  ],
  regions: [
    { id: 'north', name: 'North', state: 'N', registeredVoters: 3 },
    { id: 'south', name: 'South', state: 'S', registeredVoters: 2 },
  ],
})
const uid = () => `api-${Math.random().toString(36).slice(2, 10)}`

describe('control routes refuse bad requests and write nothing', () => {
  it('needs the admin token, and the right one', async () => {
    const before = await elections()
    const body = JSON.stringify(liveElection(uid()))
    await expectProblem(
      await h.request('/elections', { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
      401,
      /Bearer/,
    )
    await expectProblem(
      await h.request('/elections', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', authorization: 'Bearer nope-nope-nope-nope' },
      }),
      401,
      /wrong admin token/,
    )
    await expectProblem(await h.request('/elections/x/pause', { method: 'POST' }), 401)
    await expectProblem(await h.request('/elections/x/rate', { method: 'PUT', body: '{"ratePerSecond":5}' }), 401)
    await expectProblem(await h.request('/elections/x/voters', { method: 'POST', body: '{}' }), 401)
    expect(await elections()).toBe(before)
  })

  it('answers malformed JSON, wrong types and missing fields with 400 and the fields at fault', async () => {
    const before = await elections()
    await expectProblem(await h.request('/elections', { method: 'POST', headers: h.admin, body: '{"name": ' }), 400)
    const wrong = await expectProblem(
      await h.request('/elections', {
        method: 'POST',
        headers: h.admin,
        body: JSON.stringify({ name: 42, simulation: { voters: 'many' } }),
      }),
      400,
    )
    expect(JSON.stringify(wrong.errors)).toMatch(/name/)
    expect(JSON.stringify(wrong.errors)).toMatch(/simulation\.voters/)
    await expectProblem(
      await h.request('/elections', { method: 'POST', headers: h.admin, body: JSON.stringify({ name: 'no candidates' }) }),
      400,
      /either simulation/,
    )
    await expectProblem(
      await h.request('/elections', {
        method: 'POST',
        headers: h.admin,
        body: JSON.stringify({ ...liveElection('bad id!'), id: 'bad id!' }),
      }),
      400,
    )
    expect(await elections()).toBe(before)
  })

  it('refuses an oversize body with 413', async () => {
    const before = await elections()
    // A definition may be large, with the admin token only (API_DEFINITION_LIMIT_BYTES, 4 MiB by default).
    const huge = JSON.stringify({ ...liveElection(uid()), name: 'x'.repeat(5_000_000) })
    await expectProblem(await h.request('/elections', { method: 'POST', headers: h.admin, body: huge }), 413)
    // Without it, the ordinary limit (64 KiB) holds, before anything else is read.
    const large = JSON.stringify({ ...liveElection(uid()), name: 'x'.repeat(200_000) })
    const anonymous = { 'content-type': 'application/json' }
    await expectProblem(await h.request('/elections', { method: 'POST', headers: anonymous, body: large }), 413)
    expect(await elections()).toBe(before)
  })

  it('answers unknown elections with 404 and a bad id with 400', async () => {
    await expectProblem(await h.request('/elections/no-such-election'), 404, /no election/)
    await expectProblem(await h.request('/elections/no-such-election/results'), 404)
    await expectProblem(await h.request('/elections/no-such-election/pause', { method: 'POST', headers: h.admin }), 404)
    await expectProblem(await h.request('/elections/no-such-election/trend'), 404)
    await expectProblem(await h.request(`/elections/${'x'.repeat(65)}`), 400)
    await expectProblem(await h.request('/no/such/route'), 404)
  })
})

describe('a live election through the API', () => {
  it('is created, opened, takes ballots from registered voters once each, and is certified when stopped', async () => {
    const id = uid()
    const created = await h.request('/elections', { method: 'POST', headers: h.admin, body: JSON.stringify(liveElection(id)) })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ id, status: 'draft', links: { live: expect.stringContaining(`/live/${id}`) } })
    await expectProblem(
      await h.request('/elections', { method: 'POST', headers: h.admin, body: JSON.stringify(liveElection(id)) }),
      409,
      /already exists/,
    )

    const before = await voters()
    await expectProblem(
      await h.request(`/elections/${id}/voters`, {
        method: 'POST',
        headers: h.admin,
        body: JSON.stringify({ voters: [{ id: 'v1', regionId: 'atlantis' }] }),
      }),
      400,
      /unknown regions/,
    )
    expect(await voters()).toBe(before)
    const reg = await h.request(`/elections/${id}/voters`, {
      method: 'POST',
      headers: h.admin,
      body: JSON.stringify({
        voters: [
          { id: 'v1', regionId: 'north' },
          { id: 'v2', regionId: 'north' },
          { id: 'v3', regionId: 'south' },
        ],
      }),
    })
    expect(reg.status).toBe(201)
    const { voters: issued } = (await reg.json()) as { voters: Array<{ id: string; token: string }> }
    const [stored] = await h.sql<{ tokenHash: Buffer }[]>`select token_hash from voters where election_id = ${id} and id = 'v1'`
    expect(stored?.tokenHash.toString()).not.toContain(issued[0]!.token) // stored hashed, never in plain
    const cast = (token: string, candidateId: string) =>
      h.request(`/elections/${id}/ballots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ candidateId }),
      })

    await expectProblem(await cast(issued[0]!.token, 'ada'), 409, /not open/)
    const started = await h.request(`/elections/${id}/start?reconcileEverySeconds=2`, { method: 'POST', headers: h.admin })
    expect(started.status).toBe(202)
    expect(await waitUntil(async () => (await (await h.request(`/elections/${id}`)).json()).status === 'open', 10_000, 100)).toBe(true)
    await expectProblem(await h.request(`/elections/${id}/start`, { method: 'POST', headers: h.admin }), 409)

    await expectProblem(await cast('vs_not-a-real-token', 'ada'), 401)
    await expectProblem(await cast(issued[0]!.token, 'zorro'), 400, /no candidate zorro/)
    expect((await cast(issued[0]!.token, 'ada')).status).toBe(202)
    await expectProblem(await cast(issued[0]!.token, 'alan'), 409, /already cast/)
    expect((await cast(issued[1]!.token, 'ada')).status).toBe(202)
    expect((await cast(issued[2]!.token, 'alan')).status).toBe(202)

    let results: Response | undefined
    const countedAll = async () => {
      results = await h.request(`/elections/${id}/results`)
      return (await results.clone().json()).totals.counted === 3
    }
    expect(await waitUntil(countedAll, 10_000, 100)).toBe(true)
    const snapshot = await results!.json()
    expect(snapshot.candidates.map((c: { id: string; votes: number }) => [c.id, c.votes])).toEqual([
      ['ada', 2],
      ['alan', 1],
    ])
    expect(snapshot.regions.find((r: { id: string }) => r.id === 'north')).toMatchObject({ ballots: 2, registeredVoters: 3 })
    expect(snapshot.reportingStatus).toBe('unofficial-partial')
    const etag = results!.headers.get('etag')!
    expect((await h.request(`/elections/${id}/results`, { headers: { 'if-none-match': etag } })).status).toBe(304)
    const since = await (await h.request(`/elections/${id}/results?since=${snapshot.version}`)).json()
    expect(since.changedSince).toEqual({ since: snapshot.version, candidates: [], regions: [] })
    const earlier = await (await h.request(`/elections/${id}/results?since=0`)).json()
    expect(earlier.changedSince.candidates).toEqual(['ada', 'alan'])

    await expectProblem(
      await h.request(`/elections/${id}/rate`, { method: 'PUT', headers: h.admin, body: JSON.stringify({ ratePerSecond: 10 }) }),
      409,
      /only a simulated election/,
    )
    expect((await h.request(`/elections/${id}/pause`, { method: 'POST', headers: h.admin })).status).toBe(202)
    expect((await h.request(`/elections/${id}/resume`, { method: 'POST', headers: h.admin })).status).toBe(202)
    expect((await h.request(`/elections/${id}/stop`, { method: 'POST', headers: h.admin })).status).toBe(202)
    let final: { status: string; reportingStatus: string; call: unknown } | undefined
    const certified = async () => {
      final = await (await h.request(`/elections/${id}/results`)).json()
      return final?.status === 'certified'
    }
    await waitUntil(certified, 30_000, 100)
    expect(final).toMatchObject({ status: 'certified', reportingStatus: 'certified' })
    // 2 of 3 counted, nothing outstanding once the polls closed: the race is called.
    expect(final?.call).toMatchObject({ candidateId: 'ada' })
    // The answer is what the one schema says (the simulator parses it with the same one).
    const reconciliation = reconciliationResponseSchema.parse(await (await h.request(`/elections/${id}/reconciliation`)).json())
    expect(reconciliation).toMatchObject({ final: true, verdict: 'match', ballots: 3, tallied: 3, certification: { passed: true } })
    expect(reconciliation.certification?.items.map((i) => i.id)).toEqual([
      'ledger_balanced',
      'recount_equal',
      'counted_to_close',
      'no_log_gaps',
      'turnout_within_roll',
      'race_calls_agree',
      'ranked_rounds_recounted',
      'one_partition_per_voter',
    ])
    // The ballot's castAt is the database's clock in the cast transaction, the receipt's too.
    const [clock] = await h.sql<{ same: boolean }[]>`
      select bool_and(b.cast_at = date_trunc('milliseconds', r.cast_at)) as same
      from ballots b join cast_receipts r using (election_id, voter_id) where b.election_id = ${id}`
    expect(clock?.same).toBe(true)
    const trend = await (await h.request(`/elections/${id}/trend`)).json()
    expect(trend.minutes.reduce((s: number, m: { votes: number }) => s + m.votes, 0)).toBe(3)
    await expectProblem(await h.request(`/elections/${id}/pause`, { method: 'POST', headers: h.admin }), 409)
  }, 120_000)
})

describe('the election list', () => {
  it("lists every election newest first, a benchmark's too (the benchmark removes its own), and ignores unknown query parameters", async () => {
    const suffix = Date.now().toString(36)
    const settings = { seed: 1, voters: 10, turnout: 1, invalidShare: 0, duplicateShare: 0 }
    const older = defaultPlan(`t-list-older-${suffix}`, settings)
    const newer = defaultPlan(`t-list-newer-${suffix}`, settings)
    await createSimulatedElection(h.sql, older, 'Listing, older')
    await createSimulatedElection(h.sql, newer, 'Benchmark listing, newer', { benchmark: true })
    const ids = async (query: string) => {
      const res = await h.request(`/elections${query}`)
      expect(res.status).toBe(200)
      return ((await res.json()).elections as Array<{ id: string }>).map((e) => e.id)
    }
    for (const query of ['', '?benchmarks=true', '?benchmarks=maybe']) {
      const listed = await ids(query)
      expect(listed).toContain(older.electionId)
      expect(listed.indexOf(newer.electionId)).toBeGreaterThanOrEqual(0)
      expect(listed.indexOf(newer.electionId)).toBeLessThan(listed.indexOf(older.electionId))
    }
  })
})

describe('the public surface', () => {
  it('serves health, metrics, the OpenAPI document, its docs page and the live page', async () => {
    expect(await (await h.request('/healthz')).json()).toMatchObject({ status: 'ok' })
    // Metrics are not on the public port; the metrics app (on the loopback) serves them.
    expect((await h.request('/metrics')).status).toBe(404)
    expect(await (await h.metrics.request('/metrics')).text()).toMatch(/votestream_http_requests_total/)
    const doc = await (await h.request('/openapi.json')).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/elections',
        '/elections/{id}',
        '/elections/{id}/results',
        '/elections/{id}/results/stream',
        '/elections/{id}/ballots',
      ]),
    )
    expect(await (await h.request('/docs')).text()).toMatch(/openapi\.json/)
    expect(await (await h.request('/live/anything')).text()).toMatch(/EventSource/)
  })
})

describe('the results document', () => {
  it('is serialised once per version for every reader, answers 304 to any form of its tag, and shows a change within a poll', async () => {
    const e = await openTestElection(h.sql)
    const url = `/elections/${e.id}/results`
    const first = await h.request(url)
    const tag = first.headers.get('etag') ?? ''
    expect(tag).toMatch(/^"\d+"$/)
    const bodies = await Promise.all(Array.from({ length: 20 }, async () => (await h.request(url)).text()))
    expect(new Set(bodies)).toEqual(new Set([await first.text()]))
    for (const header of [tag, `W/${tag}`, `"0", ${tag}`, '*'])
      expect((await h.request(url, { headers: { 'if-none-match': header } })).status, header).toBe(304)
    expect((await h.request(url, { headers: { 'if-none-match': '"0"' } })).status).toBe(200)

    await countBatch(h.sql, {
      groupId: 'results-document-test',
      topic: `results-document-${e.id}`,
      messages: [{ partition: 0, offset: '0', value: encodeBallot(ballot(e.id, 'north-0', 'ada', 'north')) }],
    })
    // The document is rechecked at most 200 ms after the last check: the new version shows.
    let after: Response | undefined
    expect(
      await waitUntil(
        async () => {
          after = await h.request(url, { headers: { 'if-none-match': tag } })
          return after.status === 200
        },
        5_000,
        50,
      ),
    ).toBe(true)
    const changed = await after?.json()
    expect(changed.totals.counted).toBe(1)
    expect(after?.headers.get('etag')).toBe(`"${changed.version}"`)
    expect(changed.version).toBeGreaterThan(Number(tag.replaceAll('"', '')))
  })

  it('serves the same OpenAPI document each time, built once', async () => {
    const [a, b] = await Promise.all([h.request('/openapi.json'), h.request('/openapi.json')])
    expect(await a.text()).toBe(await b.text())
    expect(a.headers.get('content-type')).toMatch(/application\/json/)
  })
})
