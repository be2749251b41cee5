import { createHash, randomUUID } from 'node:crypto'
import { MockActivityEnvironment } from '@temporalio/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditFileActivities } from '../activities/audit-files.ts'
import type { ActivityDeps } from '../activities/deps.ts'
import { createRaceCallActivities } from '../activities/race-calls.ts'
import { createTallyActivities } from '../activities/tallies.ts'
import { type BallotV2, encodeBallot, type Marks } from '../domain/ballot.ts'
import { cdfIds } from '../domain/exports/cdf-results.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { mixBallotBox } from '../lib/db/ballot-box.ts'
import { recordContestCall } from '../lib/db/contest-calls.ts'
import { recountContests } from '../lib/db/contest-recount.ts'
import { addVoters, setElectionStatus } from '../lib/db/elections.ts'
import { releaseCounts } from '../lib/db/results-release.ts'
import { takeResultsVersion } from '../lib/db/versions.ts'
import { nistValidator } from '../lib/standards/nist-schemas.ts'
import { waitUntil } from '../lib/wait.ts'
import { startApiHarness } from './api-harness.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'

let h: Awaited<ReturnType<typeof startApiHarness>>
beforeAll(async () => {
  h = await startApiHarness()
})
afterAll(() => h?.close())

const regions = [
  { id: 'north', name: 'North', state: 'N', registeredVoters: 40 },
  { id: 'south', name: 'South', state: 'S', registeredVoters: 40 },
  { id: 'east', name: 'East', state: 'S', registeredVoters: 5 },
]
const definition = {
  districts: [
    { id: 'county', name: 'The county', level: 'county' },
    { id: 'south-d', name: 'Southern district', level: 'legislative', states: ['S'] },
    { id: 'north-city', name: 'North city', level: 'city', regions: ['north'] },
  ],
  contests: [
    {
      id: 'gov',
      name: 'Governor',
      type: 'candidate',
      district: 'county',
      candidates: [
        { id: 'ada', name: 'Ada', party: 'Blue' },
        { id: 'bob', name: 'Bob', party: 'Red' },
      ],
      writeIns: true,
    },
    {
      id: 'council',
      name: 'Council (vote for 2)',
      type: 'candidate',
      district: 'south-d',
      votesAllowed: 2,
      candidates: ['c1', 'c2', 'c3', 'c4'].map((c) => ({ id: c, name: c.toUpperCase() })),
    },
    { id: 'm1', name: 'Measure 1', type: 'measure', district: 'county', threshold: '2/3' },
    { id: 'parks', name: 'Parks bond', type: 'measure', district: 'north-city', threshold: 0.55 },
  ],
}

async function createDefined(extra: Record<string, unknown> = {}) {
  const id = `c-${randomUUID().slice(0, 8)}`
  const res = await h.request('/elections', {
    method: 'POST',
    headers: h.admin,
    body: JSON.stringify({ id, name: 'Contests', regions, definition, start: false, ...extra }),
  })
  return { id, res }
}

async function openDefined(extra: Record<string, unknown> = {}) {
  const { id, res } = await createDefined(extra)
  expect(res.status, await res.clone().text()).toBe(201)
  await addVoters(
    h.sql,
    id,
    regions.flatMap((r) => Array.from({ length: r.registeredVoters }, (_, i) => ({ id: `${r.id}-${i}`, regionId: r.id }))),
  )
  await setElectionStatus(h.sql, id, 'open')
  return id
}

const v2 = (electionId: string, voterId: string, regionId: string, marks: Marks, extra: Partial<BallotV2> = {}): BallotV2 => ({
  v: 2,
  ballotId: randomUUID(),
  electionId,
  voterId,
  regionId,
  channel: 'election_day',
  castAt: new Date().toISOString(),
  marks,
  ...extra,
})

let topicSeq = 0
/**
 * Counts a batch and releases it to the public as the results publisher does with a step of
 * one ballot: these tests are about the counting rules and the suppression of small cells;
 * releasing in steps has tests of its own below. `releaseStep: 'election'`: the step the
 * results publisher takes, the election's smallest public cell.
 */
async function count(electionId: string, ballots: object[], options: { releaseStep?: number | 'election' } = {}) {
  const counted = await countBatch(h.sql, {
    groupId: 'contests-test',
    topic: `contests-${electionId}-${topicSeq++}`,
    messages: ballots.map((b, i) => ({ partition: 0, offset: String(i), value: encodeBallot(b as BallotV2) })),
  })
  await releaseCounts(h.sql, electionId, options.releaseStep === 'election' ? undefined : (options.releaseStep ?? 1))
  return counted
}

const calls = {
  decideContestCalls: (id: string) =>
    createRaceCallActivities({ sql: h.sql, tallyGroupId: 'contests-test' } as ActivityDeps).decideContestCalls(id),
}
const audit = { publishAuditFiles: (id: string) => createAuditFileActivities({ sql: h.sql } as ActivityDeps).publishAuditFiles(id) }
const runActivity = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>

const get = async (path: string) => {
  const res = await h.request(path)
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json()
}

type Document = Awaited<ReturnType<typeof get>>
/**
 * A shared document (results, CDF) at the election's current results version: they are
 * rebuilt once their version is behind, so the test waits for the current one.
 */
async function currentDocument(electionId: string, path: string, versionOf: (res: Response, body: Document) => number): Promise<Document> {
  const [row] = await h.sql<{ v: number }[]>`select results_version(${electionId})::float8 as v`
  let body: Document
  const ok = await waitUntil(
    async () => {
      const res = await h.request(path)
      body = await res.json()
      return versionOf(res, body) >= (row?.v ?? 0)
    },
    5_000,
    50,
  )
  expect(ok, `${path} at results version ${row?.v}`).toBe(true)
  return body
}
const resultsVersionOf = (_: Response, body: Document) => body.version as number
const cdfVersionOf = (res: Response) => Number(/cdf-(\d+)/.exec(res.headers.get('etag') ?? '')?.[1])

describe('an election defined by contests', () => {
  it('refuses bad definitions with a 400 naming the field', async () => {
    const bad = async (def: unknown, regionsGiven = regions) => {
      const res = await h.request('/elections', {
        method: 'POST',
        headers: h.admin,
        body: JSON.stringify({ name: 'Bad', regions: regionsGiven, definition: def, start: false }),
      })
      expect(res.status).toBe(400)
      return JSON.stringify(await res.json())
    }
    const contest = definition.contests[0] as Record<string, unknown>
    expect(await bad({ ...definition, contests: [{ ...contest, writeIns: false, votesAllowed: 5 }] })).toContain(
      'definition.contests.0.votesAllowed',
    )
    expect(await bad({ ...definition, contests: [{ ...contest, votesAllowed: 0 }] })).toContain('definition.contests.0.votesAllowed')
    expect(await bad({ ...definition, contests: [{ ...contest, district: 'nowhere' }] })).toContain('definition.contests.0.district')
    expect(await bad({ ...definition, contests: [contest, contest] })).toContain('definition.contests.1.id')
    expect(await bad({ ...definition, contests: [{ id: 'm', name: 'M', type: 'measure', district: 'county', threshold: 1.5 }] })).toContain(
      'definition.contests.0.threshold',
    )
    // Only the north city's contest: south and east would get an empty ballot.
    expect(await bad({ ...definition, contests: [definition.contests[3]] })).toContain('definition.regions.1')
    expect(await bad({ ...definition, districts: [...definition.districts, { id: 'x', name: 'X', regions: ['atlantis'] }] })).toContain(
      'definition.districts.3.regions.0',
    )
    const many = Array.from({ length: 501 }, (_, i) => ({ id: `m${i}`, name: `M${i}`, type: 'measure', district: 'county' }))
    expect(await bad({ ...definition, contests: many })).toMatch(/definition\.contests.*500/)
  })

  it('lists its contests with their districts', async () => {
    const id = await openDefined()
    const list = await get(`/elections/${id}/contests`)
    expect(list.contests.map((c: { id: string; regions: number }) => [c.id, c.regions])).toEqual([
      ['gov', 3],
      ['council', 2],
      ['m1', 3],
      ['parks', 1],
    ])
  })

  it('counts over- and undervotes per contest, rejects what is not on the ballot, and keeps the invariant in every cell', async () => {
    const id = await openDefined()
    const ballots: object[] = []
    // North: 12 ballots. gov: 7 ada, 3 bob, 1 write-in, 1 overvote; m1: 9 yes 3 no; parks: 6 yes, 4 no, 2 blank.
    for (let i = 0; i < 12; i++) {
      const gov = i < 7 ? ['ada'] : i < 10 ? ['bob'] : i === 10 ? [{ writeIn: 'Grace Hopper' }] : ['ada', 'bob']
      const marks: Marks = { gov, m1: [i < 9 ? 'yes' : 'no'] }
      if (i < 10) marks.parks = [i < 6 ? 'yes' : 'no']
      ballots.push(v2(id, `north-${i}`, 'north', marks))
    }
    // South: 10 ballots. council (vote for 2): 6 × [c1, c2], 2 × [c3], 1 blank; gov: 10 × bob, the last as a
    // ballot of the first kind (a mark in the first contest only: council and m1 blank).
    for (let i = 0; i < 10; i++) {
      const council = i < 6 ? ['c1', 'c2'] : i < 8 ? ['c3'] : []
      ballots.push(
        i === 9 ? ballot(id, `south-${i}`, 'bob', 'south') : v2(id, `south-${i}`, 'south', { gov: ['bob'], council, m1: ['yes'] }),
      )
    }
    // East: 2 ballots (a small cell).
    ballots.push(v2(id, 'east-0', 'east', { gov: ['ada'], council: ['c4'], m1: ['no'] }))
    ballots.push(v2(id, 'east-1', 'east', { gov: ['ada'], council: ['c4', 'c1'], m1: ['no'] }))
    ballots.push(v2(id, 'south-10', 'south', { gov: ['bob'], council: ['c1', 'c2', 'c3'], m1: ['yes'] })) // a council overvote
    // Each rejected whole, with its own reason.
    const rejected = [
      v2(id, 'north-20', 'north', { gov: ['ada'], council: ['c1'] }), // council is not on the north's ballot
      v2(id, 'north-21', 'north', { gov: ['zed'] }),
      v2(id, 'south-20', 'south', { council: [{ writeIn: 'Someone' }] }),
      v2(id, 'south-21', 'south', { gov: ['ada', 'ada'] }),
      v2(id, 'south-22', 'south', { senate: ['x'] }),
    ]
    const outcome = await count(id, [...ballots, ...rejected])
    expect(outcome.counted).toBe(25)
    expect(outcome.rejected.map((r) => r.reason)).toEqual([
      'contest_not_on_style',
      'unknown_selection',
      'write_in_not_allowed',
      'malformed_mark',
      'unknown_contest',
    ])

    const gov = await get(`/elections/${id}/contests/gov`)
    expect(gov.totals).toEqual({ ballots: 25, votes: 24, undervotes: 0, overvotes: 1 })
    expect(Object.fromEntries(gov.selections.map((s: { id: string; votes: number }) => [s.id, s.votes]))).toEqual({
      ada: 9,
      bob: 14,
      'write-in': 1,
    })
    expect(gov.balanced).toBe(true)
    expect(gov.outcome.leaders).toEqual(['bob'])
    // 85 registered, 25 voted: 60 outstanding could still overturn a lead of 5.
    expect(gov.outcome).toMatchObject({ decided: false, outstanding: 60 })

    const council = await get(`/elections/${id}/contests/council`)
    // 12 + 2 + 1 + 2 votes and one overvote (south-10); undervotes 2 (c3 alone) + 2 (blank) + 2 (first kind) + 1 (east-0).
    expect(council.totals).toEqual({ ballots: 13, votes: 17, undervotes: 7, overvotes: 1 })
    expect(council.outcome.leaders).toEqual(['c1', 'c2'])
    // South has 10 ballots, east 2: east is a small cell, hidden, and south with it (else the total would give east back).
    expect(council.regions.map((r: { id: string; suppressed: boolean }) => [r.id, r.suppressed])).toEqual([
      ['east', true],
      ['south', true],
    ])

    const m1 = await get(`/elections/${id}/contests/m1`)
    // yes 9 + 10, no 3 + 2 (and the first-kind ballot blank): 19 / 24 ≥ 2/3.
    expect(m1.selections.map((s: { votes: number }) => s.votes)).toEqual([19, 5])
    expect(m1.threshold).toEqual({ numerator: 2, denominator: 3, rule: 'at-least' })
    expect(m1.outcome.passes).toBe(true)
    const parks = await get(`/elections/${id}/contests/parks`)
    // 6 / 10 = 60 % ≥ 55 %; 2 blank ballots are undervotes.
    expect(parks).toMatchObject({ totals: { ballots: 12, votes: 10, undervotes: 2, overvotes: 0 }, outcome: { passes: true } })
    expect(parks.threshold).toEqual({ numerator: 11, denominator: 20, rule: 'at-least' })

    // The one-contest results read the same ballots: turnout and totals, no candidate.
    const results = await get(`/elections/${id}/results`)
    expect(results.totals.counted).toBe(25)
    expect(results.regions.map((r: { id: string; ballots: number }) => [r.id, r.ballots]).sort()).toEqual([
      ['east', 2],
      ['north', 12],
      ['south', 11],
    ])
    // The seed's query keeps working for the first contest.
    const seed = await h.sql<{ candidate: string; count: string }[]>`
      select candidate, count(*)::text from votes where election_id = ${id} group by candidate order by candidate`
    expect(seed.map((r) => [r.candidate, Number(r.count)])).toEqual([
      ['Ada', 9],
      ['Bob', 14],
    ])

    // The recount from the ballot box equals the running counts; a tampered count does not.
    const clean = await recountContests(h.sql, id)
    expect(clean).toMatchObject({ differences: [], unbalanced: 0, styleTotals: [] })
    expect(clean.cells).toBeGreaterThan(0)
    // One more vote for ada in east, written into the region's count vector (what the views read).
    await h.sql`
      update style_counts v set counts[sc.at + 4 + s.position] = v.counts[sc.at + 4 + s.position] + 1
      from style_contests sc join contest_selections s on s.election_id = sc.election_id and s.contest_id = sc.contest_id
      where v.election_id = ${id} and v.region_id = 'east' and sc.election_id = v.election_id and sc.style_id = v.style_id
        and sc.contest_id = 'gov' and s.id = 'ada'
        and v.ctid = (select ctid from style_counts where election_id = ${id} and region_id = 'east' limit 1)`
    const tampered = await recountContests(h.sql, id)
    expect(tampered.differences).toEqual([
      { contestId: 'gov', line: 'ada', regionId: 'east', channel: 'election_day', recounted: 2, running: 3 },
    ])
    expect(tampered.unbalanced).toBe(1)
    // The style's stored total (what snapshots read) no longer is its cells' sum: named too.
    expect(tampered.styleTotals).toEqual([expect.objectContaining({ cells: expect.any(Number), stored: expect.any(Number) })])
    const [d] = tampered.styleTotals
    expect((d?.cells ?? 0) - (d?.stored ?? 0)).toBe(1)
  })

  it('refuses a ballot of many contests for an election of one contest', async () => {
    const legacy = await openTestElection(h.sql)
    const outcome = await count(legacy.id, [v2(legacy.id, 'north-1', 'north', { gov: ['ada'] })])
    expect(outcome.rejected.map((r) => r.reason)).toEqual(['wrong_ballot_version'])
  })
})

describe('the NIST results export', () => {
  it("serves the precinct-level report valid against NIST's schema, with small cells suppressed, a 304 for its tag, and a 409 for an election without contests", async () => {
    const id = await openDefined()
    const ballots: object[] = []
    for (let i = 0; i < 12; i++) ballots.push(v2(id, `north-${i}`, 'north', { gov: [i < 7 ? 'ada' : 'bob'], m1: ['yes'], parks: ['no'] }))
    for (let i = 0; i < 20; i++)
      ballots.push(v2(id, `south-${i}`, 'south', { gov: [i < 15 ? 'ada' : 'bob'], council: ['c1', 'c2'], m1: ['yes'] }))
    expect((await count(id, ballots)).counted).toBe(32)
    const res = await h.request(`/elections/${id}/results.cdf.json`)
    expect(res.status, await res.clone().text()).toBe(200)
    const report = await res.json()
    expect(nistValidator('results')(report)).toEqual([])
    expect(report).toMatchObject({
      '@type': 'ElectionResults.ElectionReport',
      Status: 'unofficial-partial',
      Format: 'precinct-level',
      IsTest: false,
    })
    const adaIn = (doc: typeof report) =>
      doc.Election[0].Contest.find((c: { '@id': string }) => c['@id'] === cdfIds.contest('gov')).ContestSelection.find(
        (s: { '@id': string }) => s['@id'] === cdfIds.selection('gov', 'ada'),
      ).VoteCounts as Array<{ GpUnitId: string; Type: string; Count: number; IsSuppressedForPrivacy?: boolean }>
    const at = (doc: typeof report, unit: string, type: string) => adaIn(doc).find((v) => v.GpUnitId === unit && v.Type === type)
    // North: 12 ballots, 7 for ada; south 20, 15 for ada; all on election day; nothing small.
    expect(at(report, cdfIds.precinct('north'), 'election-day')).toEqual(expect.objectContaining({ Count: 7 }))
    expect(at(report, cdfIds.precinct('south'), 'election-day')).toEqual(expect.objectContaining({ Count: 15 }))
    expect(at(report, cdfIds.jurisdiction(id), 'total')).toEqual(expect.objectContaining({ Count: 22 }))
    expect(adaIn(report).some((v) => v.IsSuppressedForPrivacy)).toBe(false)
    const tag = res.headers.get('etag') ?? ''
    expect((await h.request(`/elections/${id}/results.cdf.json`, { headers: { 'if-none-match': tag } })).status).toBe(304)

    // One ballot in east: a cell of one, suppressed, and the document changes version.
    expect((await count(id, [v2(id, 'east-0', 'east', { gov: ['ada'], council: ['c4'], m1: ['no'] })])).counted).toBe(1)
    let next: Response | undefined
    await waitUntil(
      async () => {
        next = await h.request(`/elections/${id}/results.cdf.json`, { headers: { 'if-none-match': tag } })
        return next.status === 200
      },
      5_000,
      50,
    )
    const after = await next?.json()
    expect(nistValidator('results')(after)).toEqual([])
    expect(at(after, cdfIds.precinct('east'), 'total')).toEqual(expect.objectContaining({ IsSuppressedForPrivacy: true, Count: 0 }))

    const plain = await openTestElection(h.sql)
    const refused = await h.request(`/elections/${plain.id}/results.cdf.json`)
    expect(refused.status).toBe(409)
    expect(await refused.text()).toMatch(/no contests defined/)
    expect((await h.request('/elections/no-such-election/results.cdf.json')).status).toBe(404)
  })

  it('says a test election is one (IsTest), and serves the zero report before anything is counted', async () => {
    const { id, res } = await createDefined({ test: true })
    expect(res.status, await res.clone().text()).toBe(201)
    expect(await res.json()).toMatchObject({ test: true, simulated: false, status: 'draft' })
    const report = await (await h.request(`/elections/${id}/results.cdf.json`)).json()
    expect(nistValidator('results')(report)).toEqual([])
    expect(report).toMatchObject({ Status: 'pre-election', IsTest: true, TestType: 'test election' })
    const counts = report.Election[0].Contest.flatMap((c: { ContestSelection?: Array<{ VoteCounts?: Array<{ Count: number }> }> }) =>
      (c.ContestSelection ?? []).flatMap((sel) => sel.VoteCounts ?? []),
    )
    expect(counts.length).toBeGreaterThan(0)
    expect(counts.filter((v: { Count: number }) => v.Count !== 0)).toEqual([])
    // The flag is a boolean, named when it is not; an election not created as a test is not one.
    const refused = await createDefined({ test: 'yes' })
    expect(refused.res.status).toBe(400)
    expect(await refused.res.text()).toMatch(/test/)
    const live = await createDefined()
    expect(await live.res.json()).toMatchObject({ test: false })
  })
})

describe('the audit files', () => {
  it('are committed when counting finishes; the commitment is public, the files the admin’s, each the bytes committed', async () => {
    const id = await openDefined()
    const ballots: object[] = []
    for (let i = 0; i < 12; i++) ballots.push(v2(id, `north-${i}`, 'north', { gov: [i < 7 ? 'ada' : 'bob'], m1: ['yes'], parks: ['no'] }))
    for (let i = 0; i < 5; i++) ballots.push(v2(id, `south-${i}`, 'south', { gov: ['bob'], council: ['c1', 'c2'], m1: ['no'] }))
    expect((await count(id, ballots)).counted).toBe(17)
    expect((await h.request(`/elections/${id}/audit`)).status).toBe(404)
    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    await mixBallotBox(h.sql)
    const published = await runActivity(() => audit.publishAuditFiles(id))
    expect(published).toMatchObject({ ballots: 17, files: 2 + 4 })
    // Once only: a retry finds it stored.
    expect(await runActivity(() => audit.publishAuditFiles(id))).toEqual(published)

    const commitment = await get(`/elections/${id}/audit`)
    expect(commitment).toMatchObject({ electionId: id, ballots: 17, algorithm: 'sha-256', commitment: published.commitment })
    expect(commitment.list).toBe(commitment.files.map((f: { name: string; sha256: string }) => `${f.sha256}  ${f.name}\n`).join(''))
    expect((await h.request(`/elections/${id}/audit/cvr.json`)).status).toBe(401)
    for (const f of commitment.files as Array<{ name: string; sha256: string; bytes: number }>) {
      const res = await h.request(`/elections/${id}/audit/${f.name}`, { headers: h.admin })
      expect(res.status, f.name).toBe(200)
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect(createHash('sha256').update(bytes).digest('hex'), f.name).toBe(f.sha256)
      expect(bytes.length).toBe(f.bytes)
    }
    const cvr = await (await h.request(`/elections/${id}/audit/cvr.json`, { headers: h.admin })).json()
    expect(nistValidator('cvr')(cvr)).toEqual([])
    expect(cvr.CVR).toHaveLength(17)
    // Nothing in a record names a voter.
    expect(JSON.stringify(cvr)).not.toMatch(/north-\d|south-\d/)
    expect((await h.request(`/elections/${id}/audit/secrets.csv`, { headers: h.admin })).status).toBe(404)
    expect((await h.request(`/elections/${id}/audit/..%2Fetc`, { headers: h.admin })).status).toBe(400)
  })
})

describe('race calls per contest', () => {
  it('retracts a call the counts contradict, calls nothing while a live election is open, and every seat at the final count', async () => {
    const id = await openDefined()
    // A call for c3, as a bug might have written it, before any ballot.
    await h.sql.begin(async (tx) => {
      const version = await takeResultsVersion(tx, [id])
      await recordContestCall(
        tx,
        id,
        { contestId: 'council', selectionId: 'c3', outcome: 'elected', rule: 'a bug', figures: { votes: 0, against: 0, outstanding: 0 } },
        version,
      )
    })
    const ballots: object[] = []
    for (let i = 0; i < 12; i++)
      ballots.push(v2(id, `south-${i}`, 'south', { gov: [i < 8 ? 'bob' : 'ada'], council: i < 9 ? ['c1', 'c2'] : ['c3'], m1: ['yes'] }))
    for (let i = 0; i < 12; i++) ballots.push(v2(id, `north-${i}`, 'north', { gov: ['ada'], m1: [i < 10 ? 'yes' : 'no'], parks: ['yes'] }))
    expect((await count(id, ballots)).counted).toBe(24)

    const open = await runActivity(() => calls.decideContestCalls(id))
    // c1 and c2 have 9 each against c3's 3: two rivals at or above c3 with two seats.
    expect(open.retracted).toEqual([
      { contestId: 'council', selectionId: 'c3', outcome: 'elected', reason: expect.stringMatching(/c1 has 9, c2 has 9 against 3 for c3/) },
    ])
    // Open and live: voters can still come, so nothing is called.
    expect(open.called).toEqual([])
    const council = await get(`/elections/${id}/contests/council`)
    expect(council.outcome.decided).toBe(false)
    // While counting, a call's figures and a retraction's reason (the live counts) are withheld.
    expect(council.outcome.calls).toEqual([
      expect.objectContaining({
        selectionId: 'c3',
        status: 'retracted',
        figures: null,
        retraction: expect.objectContaining({ reason: expect.not.stringMatching(/\d/) }),
      }),
    ])

    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    const final = await runActivity(() => calls.decideContestCalls(id))
    // gov: ada 16, bob 8; council: c1, c2 with 9 each against c3's 3; m1: 22 yes of 24 ≥ 2/3; parks: 12 yes.
    expect(new Set(final.called.map((c) => `${c.contestId}:${c.selectionId ?? c.outcome}`))).toEqual(
      new Set(['council:c1', 'council:c2', 'gov:ada', 'm1:passes', 'parks:passes']),
    )
    expect(final.retracted).toEqual([])
    const decided = await get(`/elections/${id}/contests/council`)
    expect(decided.outcome.decided).toBe(true)
    // Counting has finished: the figures and the reason are shown.
    expect(decided.outcome.calls).toContainEqual(
      expect.objectContaining({ selectionId: 'c3', retraction: expect.objectContaining({ reason: expect.stringMatching(/c1 has 9/) }) }),
    )
    expect(decided.outcome.calls.every((c: { figures: unknown }) => c.figures !== null)).toBe(true)
    expect(
      decided.outcome.calls
        .filter((c: { status: string }) => c.status === 'standing')
        .map((c: { selectionId: string }) => c.selectionId)
        .sort(),
    ).toEqual(['c1', 'c2'])
    // The snapshot (SSE, results topic, GET /results) shows the same recorded calls.
    const snapshot = await get(`/elections/${id}/results`)
    const m1 = snapshot.contests.find((c: { id: string }) => c.id === 'm1')
    expect(m1.outcome).toMatchObject({ decided: true, calls: [expect.objectContaining({ outcome: 'passes', status: 'standing' })] })
    // Deciding again changes nothing: one writer, one call per seat.
    expect(await runActivity(() => calls.decideContestCalls(id))).toEqual({ called: [], retracted: [] })
  })
})

describe('the secret ballot', () => {
  it('keeps the poll book and the ballot box apart: no voter, position, time or order joins them', async () => {
    const id = await openDefined()
    const order: string[] = []
    const ballots = Array.from({ length: 40 }, (_, i) => {
      const pick = ['ada', 'bob'][i % 2] as string
      order.push(pick)
      return v2(id, `north-${i}`, 'north', { gov: [pick], m1: ['yes'], parks: [i < 20 ? 'yes' : 'no'] })
    })
    await count(id, ballots)
    const pollBook = await h.sql<{ candidateId: string | null }[]>`select candidate_id from ballots where election_id = ${id}`
    expect(pollBook).toHaveLength(40)
    expect(pollBook.every((r) => r.candidateId === null)).toBe(true)

    // What the ballot box holds: nothing about the voter, the log or the time.
    const columns = await h.sql<{ columnName: string }[]>`
      select column_name from information_schema.columns where table_name in ('ballot_box', 'ballot_box_pending') order by 1`
    // The imprint is the paper's (random, printed by its scanner: a comparison audit finds the paper by it); never the poll book's.
    expect([...new Set(columns.map((c) => c.columnName))]).toEqual([
      'channel',
      'election_id',
      'id',
      'imprint',
      'marks',
      'region_id',
      'style_id',
    ])
    const pollBookColumns = await h.sql<{ columnName: string }[]>`
      select column_name from information_schema.columns where table_name = 'ballots' and table_schema = current_schema()`
    expect(pollBookColumns.map((c) => c.columnName)).not.toContain('imprint')

    await mixBallotBox(h.sql)
    const [pending] = await h.sql<{ n: number }[]>`select count(*)::int as n from ballot_box_pending where election_id = ${id}`
    expect(pending?.n).toBe(0)
    // In the order they lie on disk: random (v4) ids, and an order unrelated to arrival.
    const box = await h.sql<{ id: string; xmin: string; marks: Marks }[]>`
      select id::text, xmin::text, marks from ballot_box where election_id = ${id} order by ctid`
    expect(box).toHaveLength(40)
    expect(box.every((b) => b.id[14] === '4')).toBe(true)
    // One transaction for the whole window, not the counting batch's.
    expect(new Set(box.map((b) => b.xmin)).size).toBe(1)
    const [pollXmin] = await h.sql<{ xmin: string }[]>`select distinct xmin::text from ballots where election_id = ${id}`
    expect(box[0]?.xmin).not.toBe(pollXmin?.xmin)
    // The parks mark was 'yes' for the first 20 to arrive: on disk they are spread through the box.
    const firstHalfYes = box.slice(0, 20).filter((b) => b.marks.parks?.[0] === 'yes').length
    expect(firstHalfYes).toBeGreaterThan(3)
    expect(firstHalfYes).toBeLessThan(17)
  })

  it('moves public counts in steps of the minimum cell while counting, and shows them exact once counting finishes', async () => {
    const id = await openDefined()
    let voter = 0
    const cast = (n: number, pick: 'ada' | 'bob') =>
      count(
        id,
        Array.from({ length: n }, () => v2(id, `north-${voter++}`, 'north', { gov: [pick], m1: ['yes'] })),
        { releaseStep: 10 },
      )
    const publicGov = async () => {
      const gov = await get(`/elections/${id}/contests/gov`)
      const cdf = await currentDocument(id, `/elections/${id}/results.cdf.json`, cdfVersionOf)
      const results = await currentDocument(id, `/elections/${id}/results`, resultsVersionOf)
      const [grafana] = await h.sql<{ ballots: number | null }[]>`
        select ballots::int from contest_totals where election_id = ${id} and contest_id = 'gov' and selection_id = 'ada'`
      const north = gov.regions.find((r: { id: string }) => r.id === 'north')
      // The NIST export's precinct total of the contest: its ballots are the count of Ada's and Bob's and the unused votes.
      const cdfContest = cdf.Election[0].Contest.find((k: { '@id': string }) => k['@id'] === cdfIds.contest('gov'))
      const cdfVotes = cdfContest.ContestSelection.flatMap(
        (sel: { VoteCounts?: Array<{ Count: number; GpUnitId: string; Type: string }> }) =>
          (sel.VoteCounts ?? []).filter((v) => v.GpUnitId === cdfIds.precinct('north') && v.Type === 'total'),
      ).reduce((n: number, v: { Count: number }) => n + v.Count, 0)
      return {
        ballots: north.ballots as number,
        ada: north.votes?.ada as number | undefined,
        snapshot: results.contests.find((c: { id: string }) => c.id === 'gov').ballots as number | null,
        grafana: grafana?.ballots ?? null,
        cdfVotes,
        version: gov.version as number,
      }
    }
    const counted = async () => {
      const [row] = await h.sql<{ n: number }[]>`
        select coalesce(sum(ballots), 0)::int as n from contest_ballots where election_id = ${id} and contest_id = 'gov' and region_id = 'north'`
      return row?.n
    }

    await cast(9, 'ada')
    expect(await counted()).toBe(9)
    expect(await publicGov()).toMatchObject({ ballots: 0, snapshot: 0, grafana: 0, cdfVotes: 0 })
    await cast(1, 'bob')
    const first = await publicGov()
    expect(first).toMatchObject({ ballots: 10, ada: 9, snapshot: 10, grafana: 10, cdfVotes: 10 })
    // One ballot more, then eight: the public copy stays where it was (nobody learns what they chose)…
    await cast(1, 'bob')
    expect(await publicGov()).toMatchObject({ ballots: 10, ada: 9, snapshot: 10, grafana: 10, cdfVotes: 10, version: first.version })
    await cast(8, 'ada')
    expect(await counted()).toBe(19)
    expect(await publicGov()).toMatchObject({ ballots: 10, ada: 9, version: first.version })
    // …until the precinct has ten ballots more, released together under a new version.
    await cast(1, 'ada')
    const second = await publicGov()
    expect(second).toMatchObject({ ballots: 20, ada: 18, snapshot: 20, grafana: 20, cdfVotes: 20 })
    expect(second.version).toBeGreaterThan(first.version)
    // Counting finished: the public reads the count itself, exact, its last step smaller.
    await cast(3, 'bob')
    expect(await publicGov()).toMatchObject({ ballots: 20 })
    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    const final = await publicGov()
    expect(final).toMatchObject({ ballots: 23, ada: 18, snapshot: 23, grafana: 23, cdfVotes: 23 })
    expect(final.version).toBeGreaterThan(second.version)
  })

  it('keeps each style total equal to its cells through partial releases on several partitions, and the reconciliation rebuilds one that is not', async () => {
    const id = await openDefined()
    let offset = 0
    const topic = `contests-${id}-totals`
    const voted = new Map<string, number>()
    // Ballots spread over two partitions, as the tally's transactions carry them.
    const cast = async (regionId: string, n: number) => {
      const ballots = Array.from({ length: n }, (_, i) => {
        const marks: Marks =
          regionId === 'north'
            ? { gov: [i % 2 ? 'ada' : 'bob'], m1: ['yes'], parks: ['no'] }
            : { gov: ['ada'], council: ['c1', 'c3'], m1: ['no'] }
        const next = voted.get(regionId) ?? 0
        voted.set(regionId, next + 1)
        return v2(id, `${regionId}-${next}`, regionId, marks)
      })
      for (const partition of [0, 1]) {
        const mine = ballots.filter((_, i) => i % 2 === partition)
        await countBatch(h.sql, {
          groupId: 'contests-test',
          topic,
          messages: mine.map((b) => ({ partition, offset: String(offset++), value: encodeBallot(b) })),
        })
      }
    }
    // Per style: the stored totals against the cells they sum, counted and released.
    const apart = async () => {
      const rows = await h.sql<{ side: string; styleId: string; same: boolean }[]>`
        select 'counted' as side, c.style_id, c.counts = t.counts as same
        from (select style_id, vec_sum(counts) as counts from style_counts where election_id = ${id} group by 1) c
        join (select style_id, vec_sum(counts) as counts from style_totals where election_id = ${id} group by 1) t using (style_id)
        union all
        -- A style whose released cells are all gone keeps a total of zeros: equal to no cells.
        select 'released', coalesce(c.style_id, t.style_id), c.counts = t.counts or (c.counts is null and 0 = all (t.counts))
        from (select style_id, vec_sum(counts) as counts from released_style_counts where election_id = ${id} group by 1) c
        full join released_style_totals t on t.election_id = ${id} and t.style_id = c.style_id
        where t.election_id is null or t.election_id = ${id}`
      return rows.filter((r) => !r.same).map((r) => `${r.side} ${r.styleId}`)
    }
    await cast('south', 12)
    await cast('east', 3)
    await cast('north', 10)
    // South (12) and North (10) are released, East (3, the same style as South) is not —
    // one cell a round when a round may release one (South first: the furthest behind).
    expect(await releaseCounts(h.sql, id, 10, 1)).toBe(1)
    expect(await apart()).toEqual([])
    const [first] = await h.sql<{ regionId: string }[]>`select region_id from released_cells where election_id = ${id}`
    expect(first?.regionId).toBe('south')
    expect(await releaseCounts(h.sql, id, 10, 1)).toBe(1)
    expect(await apart()).toEqual([])
    const [released] = await h.sql<{ n: number }[]>`
      select coalesce(sum(ballots), 0)::int as n from released_cells where election_id = ${id}`
    expect(released?.n).toBe(22)
    await cast('east', 2) // East reaches 5: still under the step, South unchanged
    await cast('south', 10) // South 22: ten more, released again with East still held back
    await releaseCounts(h.sql, id, 10)
    expect(await apart()).toEqual([])
    const snapshotBallots = async () => {
      const res = await h.request(`/elections/${id}/contests/gov`)
      const page = await res.json()
      const doc = await get(`/elections/${id}/results`)
      return { page: page.totals.ballots as number, snapshot: doc.contests.find((c: { id: string }) => c.id === 'gov').ballots as number }
    }
    expect(await snapshotBallots()).toEqual({ page: 32, snapshot: 32 })

    // A hand in psql (or a tally of an older release) leaves a total short: the recount names
    // it, and the reconciliation rebuilds it from the cells.
    await h.sql`update style_totals set counts[1] = counts[1] - 1 where election_id = ${id} and kafka_partition = 1
                and style_id = (select style_id from regions where election_id = ${id} and id = 'south')`
    await h.sql`update released_style_totals set counts[1] = counts[1] + 1 where election_id = ${id}
                and style_id = (select style_id from regions where election_id = ${id} and id = 'north')`
    expect((await apart()).map((x) => x.split(' ')[0]).sort()).toEqual(['counted', 'released'])
    const found = await recountContests(h.sql, id, { fromBallotBox: false })
    expect(found.styleTotals).toHaveLength(1)
    expect(found.releasedStyleTotals).toHaveLength(1)
    const report = await runActivity(() => createTallyActivities({ sql: h.sql } as ActivityDeps).reconcileElection(id, { final: false }))
    expect(report.repaired).toBe(true)
    expect(await apart()).toEqual([])
    const again = await recountContests(h.sql, id, { fromBallotBox: false })
    expect({ counted: again.styleTotals, released: again.releasedStyleTotals }).toEqual({ counted: [], released: [] })

    // A cell whose counts are gone (as a repair deleting a phantom cell leaves it), released
    // while no other cell of its style is: the release takes its old copy out of the public
    // total (helper-31: a release that only added the new side left it in).
    // The poll book's entries go too: the running counts stay equal to them (other tests
    // check that identity over every election in the database).
    await h.sql`delete from ballots where election_id = ${id} and region_id = 'south'`
    await h.sql`delete from style_counts where election_id = ${id} and region_id = 'south'`
    await h.sql`delete from tally_counts where election_id = ${id} and region_id = 'south'`
    expect(await releaseCounts(h.sql, id, 10)).toBe(1)
    expect((await apart()).filter((x) => x.startsWith('released'))).toEqual([])
  })

  it('names in ?since=N the regions whose public contest counts moved without a count: a release, and the close', async () => {
    const id = await openDefined()
    // Counted but not released (a step of 100): the public contest counts have not moved.
    await count(
      id,
      Array.from({ length: 12 }, (_, i) => v2(id, `north-${i}`, 'north', { gov: ['ada'], m1: ['yes'] })),
      { releaseStep: 100 },
    )
    const versionNow = async () => Number((await h.sql<{ v: string }[]>`select results_version(${id})::text as v`)[0]?.v)
    const counted = await versionNow()
    // The shared document is rebuilt once it is behind: asked until it reaches the current version.
    const since = async (n: number) => {
      const at = await versionNow()
      let body: Awaited<ReturnType<typeof get>>
      const caughtUp = await waitUntil(
        async () => {
          body = await get(`/elections/${id}/results?since=${n}`)
          return body.version >= at
        },
        5_000,
        50,
      )
      expect(caughtUp, `the document at version ${at}`).toBe(true)
      return body.changedSince as { regions: string[] }
    }
    expect((await since(counted)).regions).toEqual([])
    // The release moves north's public contest counts, and no count moved with it.
    expect(await releaseCounts(h.sql, id, 10)).toBe(1)
    const released = await versionNow()
    expect(released).toBeGreaterThan(counted)
    expect((await since(counted)).regions).toEqual(['north'])
    expect((await since(released)).regions).toEqual([])
    // Two more ballots, held back (under the step); the close shows them: north moves again.
    await count(
      id,
      [0, 1].map((i) => v2(id, `north-${12 + i}`, 'north', { gov: ['bob'], m1: ['no'] })),
      { releaseStep: 100 },
    )
    const beforeClose = await versionNow()
    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    expect((await since(beforeClose)).regions).toEqual(['north'])
  })

  it('suppresses small cells in public results', async () => {
    const id = await openDefined()
    await count(id, [v2(id, 'east-0', 'east', { gov: ['ada'], council: ['c4'], m1: ['no'] })])
    const gov = await get(`/elections/${id}/contests/gov`)
    expect(gov.totals.votes).toBe(0)
    expect(gov.selections.every((s: { votes: number }) => s.votes === 0)).toBe(true)
    // Nor who leads: one ballot's leader is that voter's choice.
    expect(gov.outcome).toMatchObject({ leaders: [], passes: null, decided: false })
    const m1 = await get(`/elections/${id}/contests/m1`)
    expect(m1.outcome).toMatchObject({ leaders: [], passes: null })
    // The snapshot (SSE, results topic) withholds the contest whole.
    const results = await get(`/elections/${id}/results`)
    expect(results.contests.find((c: { id: string }) => c.id === 'gov')).toMatchObject({ suppressed: true, votes: null, outcome: null })
    expect(gov.regions.find((r: { id: string }) => r.id === 'east')).toMatchObject({ suppressed: true, votes: null })
    expect(gov.channels).toEqual([expect.objectContaining({ channel: 'election_day', suppressed: true, votes: null })])
    const list = await get(`/elections/${id}/contests`)
    expect(list.contests[0].ballots).toBe(0)
  })

  it("hides and releases at the election's own smallest cell in every output: the API, the snapshot, the NIST export and Grafana's views", async () => {
    expect((await createDefined({ minCellBallots: 0 })).res.status).toBe(400)
    expect((await createDefined({ minCellBallots: 10_001 })).res.status).toBe(400)
    // Below the deployment's floor (API_RESULTS_MIN_CELL_BALLOTS, 10 here): suppression is not the admin's to switch off.
    const low = (await createDefined({ minCellBallots: 9 })).res
    expect(low.status).toBe(400)
    expect(await low.text()).toMatch(/minCellBallots: at least 10, this deployment's smallest public cell/)
    const bad = await (await createDefined({ minCellBallots: 2.5 })).res.json()
    expect(JSON.stringify(bad)).toContain('minCellBallots')
    // Two elections alike but for their smallest cell (20, and the default 10), each with 15
    // ballots in north: 15 is public in the second and in no output of the first.
    const wide = await openDefined({ minCellBallots: 20 })
    const plain = await openDefined()
    expect(await get(`/elections/${wide}`)).toMatchObject({ minCellBallots: 20 })
    expect(await get(`/elections/${plain}`)).toMatchObject({ minCellBallots: 10 })
    for (const id of [wide, plain])
      await count(
        id,
        Array.from({ length: 15 }, (_, i) => v2(id, `north-${i}`, 'north', { gov: [i < 9 ? 'ada' : 'bob'], m1: ['yes'] })),
        { releaseStep: 'election' },
      )
    const outputs = async (id: string) => {
      const gov = await get(`/elections/${id}/contests/gov`)
      const list = await get(`/elections/${id}/contests`)
      const results = await currentDocument(id, `/elections/${id}/results`, resultsVersionOf)
      const cdf = await currentDocument(id, `/elections/${id}/results.cdf.json`, cdfVersionOf)
      const cdfAda = cdf.Election[0].Contest.find((k: { '@id': string }) => k['@id'] === cdfIds.contest('gov'))
        .ContestSelection.find((s: { '@id': string }) => s['@id'] === cdfIds.selection('gov', 'ada'))
        .VoteCounts.find((v: { GpUnitId: string; Type: string }) => v.GpUnitId === cdfIds.precinct('north') && v.Type === 'total')
      const [totals] = await h.sql<{ ballots: number | null; suppressed: boolean }[]>`
        select ballots::int, suppressed from contest_totals where election_id = ${id} and contest_id = 'gov' and selection_id = 'ada'`
      const [byRegion] = await h.sql<{ votes: number | null; suppressed: boolean }[]>`
        select votes::int, suppressed from contest_results
        where election_id = ${id} and contest_id = 'gov' and selection_id = 'ada' and region_id = 'north'`
      return {
        page: gov.totals.votes as number,
        north: gov.regions.find((r: { id: string }) => r.id === 'north').votes?.ada ?? null,
        list: list.contests.find((c: { id: string }) => c.id === 'gov').ballots as number,
        snapshot: results.contests.find((c: { id: string }) => c.id === 'gov').votes?.ada ?? null,
        cdf: cdfAda.IsSuppressedForPrivacy ? null : cdfAda.Count,
        grafanaTotals: totals?.suppressed ? null : totals?.ballots,
        grafanaRegion: byRegion?.suppressed ? null : byRegion?.votes,
      }
    }
    // While counting, public counts move by the election's step: 15 are released in the
    // default election (10 or more behind), none in the wide one (fewer than 20): its public
    // copy is still empty.
    expect(await outputs(plain)).toEqual({ page: 15, north: 9, list: 15, snapshot: 9, cdf: 9, grafanaTotals: 15, grafanaRegion: 9 })
    expect(await outputs(wide)).toEqual({ page: 0, north: 0, list: 0, snapshot: 0, cdf: 0, grafanaTotals: 0, grafanaRegion: 0 })
    // Counting finished: the exact counts are public, and 15 is still under the wide election's minimum everywhere.
    for (const id of [wide, plain]) {
      await setElectionStatus(h.sql, id, 'closing')
      await setElectionStatus(h.sql, id, 'closed')
    }
    expect(await outputs(plain)).toEqual({ page: 15, north: 9, list: 15, snapshot: 9, cdf: 9, grafanaTotals: 15, grafanaRegion: 9 })
    expect(await outputs(wide)).toEqual({
      page: 0,
      north: null,
      list: 0,
      snapshot: null,
      cdf: null,
      grafanaTotals: null,
      grafanaRegion: null,
    })
    // Raised (hiding more) it may be; lowered (showing what was hidden) never, by any role.
    const lower = await h.sql`update elections set min_cell_ballots = 10 where id = ${wide}`.then(
      () => null,
      (err: { code?: string; message?: string }) => err,
    )
    expect(lower).toMatchObject({ code: '23514', message: expect.stringContaining('may not be lowered') })
    await h.sql`update elections set min_cell_ballots = 25 where id = ${plain}`
    expect(await outputs(plain)).toEqual({
      page: 0,
      north: null,
      list: 0,
      snapshot: null,
      cdf: null,
      grafanaTotals: null,
      grafanaRegion: null,
    })
  })
})
