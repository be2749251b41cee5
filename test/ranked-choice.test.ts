import { randomUUID } from 'node:crypto'
import { MockActivityEnvironment } from '@temporalio/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCertifyActivities } from '../activities/certify.ts'
import type { ActivityDeps } from '../activities/deps.ts'
import { type BallotV2, encodeBallot, type Marks } from '../domain/ballot.ts'
import type { CertificationCheck } from '../domain/certification.ts'
import { canonicalRanking, type Ranking } from '../domain/rcv/ballot.ts'
import { plainTabulate } from '../domain/rcv/plain-tabulate.ts'
import { rcvRulesSchema } from '../domain/rcv/rules.ts'
import { rcvRanking } from '../domain/tabulation.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { mixBallotBox, runningRankings } from '../lib/db/ballot-box.ts'
import { addVoters, setElectionStatus } from '../lib/db/elections.ts'
import { startApiHarness } from './api-harness.ts'

/**
 * Ranked-choice contests through the real database and API: ballots with rankings counted
 * exactly once, their rounds served as they stand (from pending ballots and after the
 * mixer moved them into the box), equal to a plain ballot-by-ballot tabulation of the
 * rankings sent; bad rankings rejected with their reasons; small contests suppressed;
 * certification's recount of the rankings from the box.
 */

let h: Awaited<ReturnType<typeof startApiHarness>>
beforeAll(async () => {
  h = await startApiHarness()
})
afterAll(() => h?.close())

const rules = {
  ranksAllowed: 4,
  overvoteRule: 'exhaustImmediately',
  maxSkippedRanksAllowed: 1,
  duplicateRankingRule: 'exhaustOnDuplicate',
  batchElimination: false,
  tiebreakMode: 'previousRoundCountsThenRandom',
  tiebreakSeed: '3 5 2 6 1',
} as const
const candidates = ['ann', 'bo', 'cy', 'di', 'ed']
const regions = [
  { id: 'north', name: 'North', state: 'N', registeredVoters: 300 },
  { id: 'south', name: 'South', state: 'S', registeredVoters: 300 },
]
const definition = {
  districts: [{ id: 'city', name: 'The city', level: 'city' }],
  contests: [
    {
      id: 'mayor',
      name: 'Mayor (ranked choice)',
      type: 'candidate',
      district: 'city',
      candidates: candidates.map((id) => ({ id, name: id.toUpperCase() })),
      rcv: rules,
    },
    { id: 'm1', name: 'Measure 1', type: 'measure', district: 'city' },
  ],
}

async function openRanked(options: { minCellBallots?: number } = {}) {
  const id = `rcv-${randomUUID().slice(0, 8)}`
  const res = await h.request('/elections', {
    method: 'POST',
    headers: h.admin,
    body: JSON.stringify({ id, name: 'Ranked', regions, definition, start: false, ...options }),
  })
  expect(res.status, await res.clone().text()).toBe(201)
  await addVoters(
    h.sql,
    id,
    regions.flatMap((r) => Array.from({ length: r.registeredVoters }, (_, i) => ({ id: `${r.id}-${i}`, regionId: r.id }))),
  )
  await setElectionStatus(h.sql, id, 'open')
  return id
}

const v2 = (electionId: string, voterId: string, regionId: string, marks: Marks): BallotV2 => ({
  v: 2,
  ballotId: randomUUID(),
  electionId,
  voterId,
  regionId,
  channel: voterId.endsWith('7') ? 'mail' : 'election_day',
  castAt: new Date().toISOString(),
  marks,
})

let topicSeq = 0
async function count(electionId: string, ballots: BallotV2[]) {
  return countBatch(h.sql, {
    groupId: 'ranked-test',
    topic: `ranked-${electionId}-${topicSeq++}`,
    messages: ballots.map((b, i) => ({ partition: 0, offset: String(i), value: encodeBallot(b) })),
  })
}

/** A deterministic spread of rankings with every voter error the rules judge: overvotes, skips, repeats, blanks. */
function rankingOf(i: number): Marks['string'] {
  const shapes: Array<Marks['string']> = [
    ['ann', 'bo', 'cy'],
    ['ann', 'bo'],
    ['cy'],
    ['di', 'cy', 'bo', 'ann'],
    ['ed', [], 'ann'], // one skipped rank: allowed (maxSkippedRanksAllowed 1)
    ['ed', [], [], 'bo'], // two skipped: inactive by skipped rankings when it matters
    [['ann', 'bo'], 'cy'], // an overvote at the first rank
    ['cy', ['di', 'ed'], 'ann'], // an overvote further down
    ['bo', 'bo', 'cy'], // a repeated ranking (bo, the weakest, goes first)
    [],
    ['di', 'ed'],
    ['cy', 'ann'],
  ]
  return shapes[(i * 7 + (i >> 3)) % shapes.length] as Marks['string']
}

async function rounds(electionId: string, contestId = 'mayor') {
  const res = await h.request(`/elections/${electionId}/contests/${contestId}/rounds`)
  return { status: res.status, body: await res.json() }
}

describe('a ranked-choice contest', () => {
  it('refuses a ranked contest that is not vote for 1, has write-ins or bad rules, naming the field', async () => {
    const bad = async (over: Record<string, unknown>) => {
      const contest = { ...definition.contests[0], ...over }
      const res = await h.request('/elections', {
        method: 'POST',
        headers: h.admin,
        body: JSON.stringify({
          id: `rcv-${randomUUID().slice(0, 8)}`,
          name: 'Bad',
          regions,
          definition: { ...definition, contests: [contest] },
        }),
      })
      expect(res.status).toBe(400)
      return JSON.stringify(await res.json())
    }
    expect(await bad({ votesAllowed: 2 })).toMatch(/contests\.0\.votesAllowed/)
    expect(await bad({ writeIns: true })).toMatch(/contests\.0\.writeIns/)
    expect(await bad({ rcv: { ...rules, ranksAllowed: 0 } })).toMatch(/contests\.0\.rcv\.ranksAllowed/)
    expect(await bad({ rcv: { ...rules, numberElected: 3 } })).toMatch(/contests\.0\.rcv\.numberElected/)
    expect(await bad({ rcv: { ...rules, overvoteRule: 'exhaustIfMultipleContinuing' } })).toMatch(/contests\.0\.rcv\.overvoteRule/)
  })

  it('counts rankings exactly once and serves the rounds as they stand, equal to a plain tabulation, before and after mixing', async () => {
    const id = await openRanked()
    const sent: Ranking[] = []
    const ballots = Array.from({ length: 240 }, (_, i) => {
      const region = i % 2 === 0 ? 'north' : 'south'
      const marks: Marks = { m1: [i % 3 === 0 ? 'no' : 'yes'] }
      const ranking = rankingOf(i)
      if (ranking.length > 0 || i % 5 !== 0) marks.mayor = ranking
      sent.push(rcvRanking(marks.mayor ?? []))
      return v2(id, `${region}-${i}`, region, marks)
    })
    // Refused whole, each with its reason: none of their rankings may reach the rounds.
    const refused = [
      v2(id, 'north-250', 'north', { mayor: ['ann', 'bo', 'cy', 'di', 'ed'] }),
      v2(id, 'north-252', 'north', { mayor: ['zed'] }),
      v2(id, 'north-254', 'north', { mayor: [['ann', 'ann']] }),
      v2(id, 'north-256', 'north', { mayor: [{ writeIn: 'Jane Public' }] }),
      v2(id, 'north-258', 'north', { m1: [['yes']] }),
    ]
    const first = await count(id, [...ballots.slice(0, 120), ...refused])
    expect(first.counted).toBe(120)
    expect(first.rejected.map((r) => r.reason)).toEqual([
      'rank_beyond_limit',
      'unknown_selection',
      'malformed_mark',
      'write_in_not_allowed',
      'malformed_mark',
    ])
    expect((await count(id, ballots.slice(120))).counted).toBe(120)
    // A redelivery of the same positions changes nothing.
    const again = await countBatch(h.sql, {
      groupId: 'ranked-test',
      topic: `ranked-${id}-${topicSeq - 1}`,
      messages: ballots.slice(120).map((b, i) => ({ partition: 0, offset: String(i), value: encodeBallot(b) })),
    })
    expect(again.counted).toBe(0)

    const expected = plainTabulate(rcvRulesSchema.parse(rules), candidates, sent)
    // Every cause of inactivity this test means to exercise happened.
    const last = expected.rounds.at(-1)?.inactive
    expect(last && Object.values(last).every((n) => n > 0), JSON.stringify(last)).toBe(true)
    // Served only from what the mixer moved into the box: nothing of a counting batch shows
    // before its window is mixed (consecutive reads never differ by one ballot of a batch).
    const pending = await rounds(id)
    expect(pending.status).toBe(200)
    expect(pending.body).toMatchObject({ status: 'unofficial', ballots: 0, rounds: [], elected: null, suppressed: true })

    await mixBallotBox(h.sql)
    const mixed = await rounds(id)
    expect(mixed.body).toMatchObject({
      status: 'unofficial',
      ballots: 240,
      undervotes: expected.undervotes,
      elected: expected.winner,
      suppressed: false,
    })
    expect(mixed.body.rounds).toEqual(expected.rounds)
    const [stored] = await h.sql<{ rows: number; ballots: number }[]>`
      select count(*)::int as rows, sum(ballots)::int as ballots from rcv_rankings where election_id = ${id}`
    expect(stored).toEqual({ rows: new Set(sent.map((r) => JSON.stringify(canonicalRanking(r)))).size, ballots: 240 })
    // A precinct's "as if" rounds: only once counting has finished (read a window apart, they
    // would show that window's few ballots there); then only its ballots, tabulated the same way.
    expect((await h.request(`/elections/${id}/contests/mayor/rounds?region=north`)).status).toBe(409)
    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    const northSent = sent.filter((_, i) => i % 2 === 0)
    const north = await h.request(`/elections/${id}/contests/mayor/rounds?region=north`)
    expect(north.status).toBe(200)
    const northBody = await north.json()
    expect(northBody).toMatchObject({ regionId: 'north', ballots: 120, suppressed: false })
    expect(northBody.rounds).toEqual(plainTabulate(rcvRulesSchema.parse(rules), candidates, northSent).rounds)
    expect((await h.request(`/elections/${id}/contests/mayor/rounds?region=nowhere`)).status).toBe(404)
    const bad = await h.request(`/elections/${id}/contests/mayor/rounds?region=${encodeURIComponent('no such id!')}`)
    expect(bad.status).toBe(400)
    expect(JSON.stringify(await bad.json())).toMatch(/region/)
    // RCTab's summary of the same rounds: the winner elected in the last round.
    expect(mixed.body.rctab.results.at(-1).tallyResults).toContainEqual({ elected: expected.winner.toUpperCase(), transfers: {} })
    expect(mixed.body.rctab.summary).toMatchObject({ totalNumBallots: '240', undervotes: expected.undervotes, numWinners: 1 })

    // First choices in the contest's counts keep the invariant; no leader is named from them.
    const contest = await (await h.request(`/elections/${id}/contests/mayor`)).json()
    expect(contest).toMatchObject({ balanced: true, rcv: rcvRulesSchema.parse(rules), outcome: { leaders: [], decided: false } })
    expect(contest.totals.ballots).toBe(240)

    // The certification item: rankings recounted from the box equal the running ones.
    const activities = createCertifyActivities({ sql: h.sql, tallyGroupId: 'ranked-test' } as ActivityDeps)
    const check = (await new MockActivityEnvironment().run(() => activities.checkCertification(id, { repaired: 0 }))) as CertificationCheck
    const item = check.items.find((i) => i.id === 'ranked_rounds_recounted')
    expect(item?.passed, item?.detail).toBe(true)
    expect(item?.detail).toContain(`mayor: 240 ballots, ${expected.rounds.length} rounds, ${expected.winner} elected`)
    expect(item?.detail).toContain("equal to the box's and to the first choices counted")
    // A ranking changed behind the count's back shows as a difference.
    await h.sql`update rcv_rankings set ballots = ballots + 1 where election_id = ${id} and ranking = (
      select ranking from rcv_rankings where election_id = ${id} order by ranking limit 1)`
    const tampered = (await new MockActivityEnvironment().run(() =>
      activities.checkCertification(id, { repaired: 0 }),
    )) as CertificationCheck
    const failed = tampered.items.find((i) => i.id === 'ranked_rounds_recounted')
    expect(failed?.passed).toBe(false)
    expect(failed?.detail).toMatch(/1 distinct rankings differ between the public rankings and the box, by 1 ballots in all/)
    expect(failed?.detail).toMatch(/ballots: 241 in the rankings, 240 counted/)
    expect(failed?.detail).not.toMatch(/\[\[/)
  })

  it('mixes a ranking longer than an index entry (50 long ids overvoted at one rank) and every other election with it', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(62)}`)
    const id = `rcv-${randomUUID().slice(0, 8)}`
    const res = await h.request('/elections', {
      method: 'POST',
      headers: h.admin,
      body: JSON.stringify({
        id,
        name: 'Long ids',
        regions,
        start: false,
        definition: {
          ...definition,
          contests: [{ ...definition.contests[0], candidates: long.map((c) => ({ id: c, name: c.slice(0, 8) })) }],
        },
      }),
    })
    expect(res.status, await res.clone().text()).toBe(201)
    await addVoters(h.sql, id, [{ id: 'north-0', regionId: 'north' }])
    await setElectionStatus(h.sql, id, 'open')
    const other = await openRanked()
    const outcome = await count(id, [v2(id, 'north-0', 'north', { mayor: [long.slice(0, 50)] })])
    expect(outcome.counted).toBe(1)
    expect((await count(other, [v2(other, 'north-0', 'north', { mayor: ['cy'] })])).counted).toBe(1)
    // The move itself, with no floor: one ballot's ranking goes to rcv_rankings at once.
    await mixBallotBox(h.sql, { minRankingBallots: 1 })
    const rows = await h.sql<{ electionId: string; length: number }[]>`
      select election_id, length(ranking) as length from rcv_rankings where election_id in (${id}, ${other}) order by length`
    expect(rows.map((r) => r.electionId)).toEqual([other, id])
    expect(rows[1]?.length).toBeGreaterThan(3_000)
  })

  it("moves a contest's rankings into the public rounds 10 ballots or more at a time; the close moves the rest", async () => {
    const id = await openRanked()
    const other = await openRanked()
    // An election created with a smallest public cell of 20 holds its rankings until 20.
    const wider = await openRanked({ minCellBallots: 20 })
    let voter = 0
    const cast = (electionId: string, n: number) =>
      count(
        electionId,
        Array.from({ length: n }, () => {
          voter += 2
          return v2(electionId, `north-${voter}`, 'north', { mayor: [voter % 4 === 0 ? 'ann' : 'bo', 'cy'] })
        }),
      )
    const where = async (electionId: string) => {
      const [row] = await h.sql<{ released: number; held: number }[]>`
        select (select coalesce(sum(ballots), 0) from rcv_rankings where election_id = ${electionId} and contest_id = 'mayor')::int as released,
               (select coalesce(sum(ballots), 0) from rcv_rankings_held where election_id = ${electionId} and contest_id = 'mayor')::int as held`
      const running = (await runningRankings(h.sql, electionId, 'mayor')).reduce((n, r) => n + r.ballots, 0)
      return { ...row, running }
    }
    // A quiet window: 4 ballots, then 5 more. Held back (the race calls still read them all).
    await cast(id, 4)
    await mixBallotBox(h.sql)
    expect(await where(id)).toEqual({ released: 0, held: 4, running: 4 })
    await cast(id, 5)
    await mixBallotBox(h.sql)
    expect(await where(id)).toEqual({ released: 0, held: 9, running: 9 })
    // The tenth: all ten go public together, and the rounds show them.
    await cast(id, 1)
    await mixBallotBox(h.sql)
    expect(await where(id)).toEqual({ released: 10, held: 0, running: 10 })
    expect((await rounds(id)).body).toMatchObject({ suppressed: false, ballots: 10 })
    // Three more wait, as do two of another election. When counting finishes (closed) the
    // public results are exact: its held rankings go public in that transaction, and the
    // rounds equal the box's, which its per-region rounds (served from then on) read.
    await cast(id, 3)
    await cast(other, 2)
    await mixBallotBox(h.sql)
    expect(await where(id)).toEqual({ released: 10, held: 3, running: 13 })
    await setElectionStatus(h.sql, id, 'closing')
    expect(await where(id)).toEqual({ released: 10, held: 3, running: 13 })
    await setElectionStatus(h.sql, id, 'closed')
    expect(await where(id)).toEqual({ released: 13, held: 0, running: 13 })
    expect((await rounds(id)).body).toMatchObject({ ballots: 13 })
    const north = await (await h.request(`/elections/${id}/contests/mayor/rounds?region=north`)).json()
    expect(north).toMatchObject({ ballots: 13 })
    expect(await where(other)).toEqual({ released: 0, held: 2, running: 2 })
    // A final mix (the worker's) releases its own election's only; the tallies' next mix
    // releases each other election's at its own floor: the other's 11 go (10), the wider
    // one's 11 wait (20).
    await cast(other, 9)
    await cast(wider, 11)
    await mixBallotBox(h.sql, { wait: true, finalElection: id })
    expect(await where(other)).toEqual({ released: 0, held: 11, running: 11 })
    expect(await where(wider)).toEqual({ released: 0, held: 11, running: 11 })
    await mixBallotBox(h.sql)
    expect(await where(other)).toEqual({ released: 11, held: 0, running: 11 })
    expect(await where(wider)).toEqual({ released: 0, held: 11, running: 11 })
    expect((await rounds(wider)).body).toMatchObject({ suppressed: true })
    await cast(wider, 8)
    await mixBallotBox(h.sql)
    expect(await where(wider)).toEqual({ released: 0, held: 19, running: 19 })
    await cast(wider, 1)
    await mixBallotBox(h.sql)
    expect(await where(wider)).toEqual({ released: 20, held: 0, running: 20 })
    expect((await rounds(wider)).body).toMatchObject({ suppressed: false, ballots: 20 })
  })

  it('answers 409 for a contest that is not ranked, 404 for one that does not exist', async () => {
    const id = await openRanked()
    expect((await rounds(id, 'm1')).status).toBe(409)
    expect((await rounds(id, 'nope')).status).toBe(404)
    expect((await rounds('no-such-election', 'mayor')).status).toBe(404)
  })

  it('shows no rounds of a contest with fewer ranking ballots than the minimum cell', async () => {
    const id = await openRanked()
    // Twelve ballots, but only two rank anyone: blank ballots hide nobody.
    const blanks = Array.from({ length: 10 }, (_, i) => v2(id, `south-${i}`, 'south', { m1: ['yes'] }))
    await count(id, [v2(id, 'north-1', 'north', { mayor: ['ann'] }), v2(id, 'north-3', 'north', { mayor: ['bo', 'ann'] }), ...blanks])
    await mixBallotBox(h.sql)
    const small = await rounds(id)
    expect(small.body).toMatchObject({ suppressed: true, rounds: [], elected: null, ballots: 0, rctab: null })
  })

  it("hides a precinct's rounds where the per-region results hide it: its own small cell, or to protect another's", async () => {
    const id = await openRanked()
    // North: 5 ballots (a small cell); south: 30, hidden too so that the total minus south does not give north back.
    const ballots = [
      ...Array.from({ length: 5 }, (_, i) => v2(id, `north-${i}`, 'north', { mayor: ['ann', 'bo'] })),
      ...Array.from({ length: 30 }, (_, i) => v2(id, `south-${i}`, 'south', { mayor: [i % 3 === 0 ? 'cy' : 'di', 'ann'] })),
    ]
    await count(id, ballots)
    await mixBallotBox(h.sql)
    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    const whole = await rounds(id)
    expect(whole.body).toMatchObject({ suppressed: false, ballots: 35 })
    for (const region of ['north', 'south']) {
      const res = await h.request(`/elections/${id}/contests/mayor/rounds?region=${region}`)
      expect(res.status).toBe(200)
      expect(await res.json(), region).toMatchObject({ regionId: region, suppressed: true, rounds: [], ballots: 0 })
    }
  })
})
