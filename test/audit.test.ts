import { randomUUID } from 'node:crypto'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bravoAsn, countedSelections } from '../domain/audit/bravo.ts'
import { comparisonPairs, comparisonSampleSize } from '../domain/audit/comparison.ts'
import type { AuditReport } from '../domain/audit/report.ts'
import { fullCountAt, nextRoundTarget } from '../domain/audit/rounds.ts'
import { defaultPlan, Simulation, type SimulationSettings } from '../domain/simulation.ts'
import { readAuditCommitment } from '../lib/db/audit-files.ts'
import { loadPlan } from '../lib/db/simulation.ts'
import { auditSource } from '../lib/exports/audit-files.ts'
import { auditManifest, fullHandCount, interpretation, simulatedPapers } from '../lib/exports/audit-papers.ts'
import { auditWorkflowId } from '../lib/temporal-audits.ts'
import { startApiHarness } from './api-harness.ts'
import { paperVotes, singleSeatMargins } from './fixtures/paper-votes.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * A risk-limiting audit run by Temporal, through the API: started after certification with
 * a seed of dice rolls, round by round, over the generator's ballots as papers. A correct
 * count is confirmed from a sample; a count the simulator's injected misread reversed is
 * never confirmed: the audit goes to a full hand count, which names the papers' winner.
 */

let h: Awaited<ReturnType<typeof startApiHarness>>
let tally: TallyProcess
let connection: Connection
beforeAll(async () => {
  h = await startApiHarness()
  tally = await startTally({ name: 'tally-for-audits' })
  await tally.waitHealthy()
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' })
})
afterAll(async () => {
  await tally?.stop()
  await h?.close()
  await connection?.close()
})

const settings: SimulationSettings = { seed: 11, voters: 4_000, turnout: 0.8, invalidShare: 0, duplicateShare: 0, contests: true }
const REGIONS = 16
const SEED = '18274650193847561029384756'

/** Each single-seat contest's votes on the generator's papers, widest margin first. */
function paperMargins() {
  const sim = new Simulation(defaultPlan('x', settings, { regions: REGIONS }))
  return singleSeatMargins(sim.contests?.contests ?? new Map(), paperVotes(sim))
}

async function createElection(id: string, extra: Partial<SimulationSettings> = {}) {
  const res = await h.request('/elections', {
    method: 'POST',
    headers: h.admin,
    body: JSON.stringify({
      id,
      name: `Audited ${id}`,
      reconcileEverySeconds: 5,
      simulation: { ...settings, ...extra, regions: REGIONS, ratePerSecond: 4_000 },
    }),
  })
  expect(res.status, await res.clone().text()).toBe(201)
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await read()
    if (done(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const certified = (id: string) =>
  until(
    async () => (await (await h.request(`/elections/${id}`)).json()) as { status: string },
    (e) => e.status === 'certified',
    180_000,
    `election ${id} certified`,
  )

/** Certified, and its audit files committed: an audit can draw its seed. */
async function certifiedWithAuditFiles(id: string) {
  await certified(id)
  await until(
    async () => (await h.request(`/elections/${id}/audit`)).status,
    (s) => s === 200,
    60_000,
    'the audit files committed',
  )
}

const startAudit = (id: string, body: unknown, headers: Record<string, string> = h.admin) =>
  h.request(`/elections/${id}/audits`, { method: 'POST', headers, body: JSON.stringify(body) })

const finished = (id: string, auditId: string) =>
  until(
    async () => (await (await h.request(`/elections/${id}/audits/${auditId}`)).json()) as AuditReport,
    (a) => a.status !== 'running',
    180_000,
    `audit ${auditId}`,
  )

describe('a risk-limiting audit', () => {
  const margins = paperMargins()
  const N = Math.floor(settings.voters * settings.turnout)
  const asnOf = (c: { w: number; l: number }) => bravoAsn(c.w / N, c.l / N, 0.05)
  // To confirm: a margin that needs a sample of some size; to reverse: the widest (the misread must flip many ballots).
  const confirmable = margins.filter((c) => asnOf(c) >= 50 && asnOf(c) <= N / 8).sort((a, b) => asnOf(a) - asnOf(b))[0]
  const reversed = margins[0]
  if (!confirmable || !reversed || confirmable.rules.id === reversed.rules.id)
    throw new Error('the simulated ballot lacks the contests this test needs')

  it('confirms a correct count from a sample, refuses hostile requests with the field named, and shows its rounds', {
    timeout: 300_000,
  }, async () => {
    const id = `au-${randomUUID().slice(0, 8)}`
    await createElection(id)
    // Not yet certified: no audit.
    const early = await startAudit(id, { contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: SEED })
    expect(early.status).toBe(409)
    await certifiedWithAuditFiles(id)

    const refusals: Array<[unknown, number, RegExp]> = [
      [{ contestIds: [confirmable.rules.id], riskLimit: 0.5, seed: SEED }, 400, /riskLimit/],
      [{ contestIds: [confirmable.rules.id], riskLimit: 0, seed: SEED }, 400, /riskLimit/],
      [{ contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: '12345' }, 400, /seed/],
      [{ contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: `${SEED}x` }, 400, /seed/],
      [{ contestIds: ['no-such-contest'], riskLimit: 0.05, seed: SEED }, 400, /contestIds\.0/],
      [{ contestIds: [], riskLimit: 0.05, seed: SEED }, 400, /contestIds/],
      [{ contestIds: [confirmable.rules.id, confirmable.rules.id], riskLimit: 0.05, seed: SEED }, 400, /contestIds/],
      [{ contestIds: 'all', riskLimit: 0.05, seed: SEED }, 400, /contestIds/],
      [{ contestIds: [confirmable.rules.id], riskLimit: 1e-320, seed: SEED }, 400, /riskLimit/],
      [{ contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: SEED, method: 'ballot-counting' }, 400, /method/],
      [{ contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: SEED, sample: 10 }, 400, /sample/],
    ]
    for (const [body, status, field] of refusals) {
      const res = await startAudit(id, body)
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect(await res.text()).toMatch(field)
    }
    expect((await startAudit(id, { contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: SEED }, {})).status).toBe(401)
    expect((await h.request(`/elections/${id}/audits`)).status).toBe(200)
    expect((await h.request(`/elections/${id}/audits/a-nope`)).status).toBe(404)
    expect((await h.request(`/elections/${id}/audits/..%2F..`)).status).toBe(400)

    const started = await startAudit(id, { contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: SEED })
    expect(started.status).toBe(202)
    const { auditId } = (await started.json()) as AuditReport
    const report = await finished(id, auditId)
    const firstRound = nextRoundTarget([{ rules: confirmable.rules, votes: confirmable.votes, ballots: N }], 0.05, null, 0, N)
    console.log(
      `audit ${auditId} of ${confirmable.rules.id} (${confirmable.w} to ${confirmable.l} of ${N}): ${report.status} after ${report.result?.draws} draws in ${report.rounds.length} round(s); ` +
        `first round sized ${firstRound} for a 90 % chance to stop, BRAVO ASN ${asnOf(confirmable).toFixed(0)}`,
    )
    expect(report.status).toBe('confirmed')
    expect(report.rounds.length).toBe(report.result?.rounds)
    expect(report.rounds[0]?.draws).toBe(firstRound)
    expect(report.result?.contests[0]).toMatchObject({
      contestId: confirmable.rules.id,
      reported: [confirmable.winner],
      status: 'confirmed',
    })
    const last = report.rounds[report.rounds.length - 1]
    expect(last?.contests[0]?.pairs.every((p) => p.pValue <= 0.05)).toBe(true)

    // The sample is the admin's: each draw, where its paper lies, and the audited contest's marks only.
    expect((await h.request(`/elections/${id}/audits/${auditId}/sample`)).status).toBe(401)
    const sample = (await (await h.request(`/elections/${id}/audits/${auditId}/sample`, { headers: h.admin })).json()) as {
      draws: Array<{ draw: number; batch: string; position: number; paper: Record<string, string[]> }>
      rounds: AuditReport['rounds']
      next: string | null
    }
    expect(sample.draws.length).toBe(report.result?.draws)
    expect(sample.next).toBeNull()
    // The public report shows each pair's risk, not the sampled ballots behind it (the seed is public).
    expect(report.rounds[0]?.contests[0]?.pairs[0]).not.toHaveProperty('winnerBallots')
    const winnerSide = sample.draws.filter((d) => {
      const counted = countedSelections(confirmable.rules, d.paper[confirmable.rules.id])
      return counted.has(confirmable.winner) && !counted.has(confirmable.runnerUp)
    }).length
    expect(sample.rounds.at(-1)?.contests[0]?.pairs.find((p) => p.loser === confirmable.runnerUp)?.winnerBallots).toBe(winnerSide)
    const page = (await (
      await h.request(`/elections/${id}/audits/${auditId}/sample?limit=10`, { headers: h.admin })
    ).json()) as typeof sample
    expect(page.draws.map((d) => d.draw)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(page.next).toMatch(/after=10&limit=10$/)
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=10001', 'limit'],
      ['limit=ten', 'limit'],
      ['after=-1', 'after'],
    ]) {
      const refused = await h.request(`/elections/${id}/audits/${auditId}/sample?${query}`, { headers: h.admin })
      expect(refused.status, query).toBe(400)
      expect(await refused.text()).toContain(field)
    }
    expect(sample.draws.map((d) => d.draw)).toEqual(sample.draws.map((_, i) => i + 1))
    for (const d of sample.draws) expect(Object.keys(d.paper).every((c) => c === confirmable.rules.id)).toBe(true)

    // The same seed draws the same sample: a second audit repeats the first's draws.
    const again = await startAudit(id, { contestIds: [confirmable.rules.id], riskLimit: 0.05, seed: SEED })
    const second = await finished(id, ((await again.json()) as AuditReport).auditId)
    expect(second.rounds).toEqual(report.rounds)

    // The workflow shows its progress in Temporal (the Web UI's query and memo).
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' })
    const handle = client.workflow.getHandle(auditWorkflowId(auditId))
    expect((await handle.describe()).status.name).toBe('COMPLETED')
    expect(await handle.query('auditProgress')).toMatchObject({ result: 'confirmed', round: report.rounds.length })
  })

  it('never confirms an outcome a misread reversed: it escalates to a full hand count, which names the papers’ winner', {
    timeout: 300_000,
  }, async () => {
    const id = `am-${randomUUID().slice(0, 8)}`
    const share = Math.min(1, (reversed.w - reversed.l) / (2 * reversed.w) + 0.15)
    // Refused with the field named when the misread does not fit the ballot.
    const bad = await h.request('/elections', {
      method: 'POST',
      headers: h.admin,
      body: JSON.stringify({
        name: 'bad misread',
        start: false,
        simulation: {
          ...settings,
          regions: REGIONS,
          misread: { contestId: reversed.rules.id, from: reversed.winner, to: 'nobody', share },
        },
      }),
    })
    expect(bad.status).toBe(400)
    expect(await bad.text()).toMatch(/simulation\.misread\.to/)

    await createElection(id, { misread: { contestId: reversed.rules.id, from: reversed.winner, to: reversed.runnerUp, share } })
    await certifiedWithAuditFiles(id)
    // The count is exact for what it was sent (certified): the reported winner is the runner-up on paper.
    const contest = (await (await h.request(`/elections/${id}/contests/${reversed.rules.id}`)).json()) as {
      selections: Array<{ id: string; votes: number }>
    }
    const reportedVotes = (line: string) => contest.selections.find((s) => s.id === line)?.votes ?? 0
    expect(reportedVotes(reversed.runnerUp)).toBeGreaterThan(reportedVotes(reversed.winner))

    const started = await startAudit(id, { contestIds: [reversed.rules.id, confirmable.rules.id], riskLimit: 0.05, seed: SEED })
    expect(started.status).toBe(202)
    const { auditId } = (await started.json()) as AuditReport
    const report = await finished(id, auditId)
    console.log(
      `audit ${auditId}: a misread of ${reversed.rules.id} (${Math.round(share * 100)} % of ${reversed.winner}'s ballots read as ${reversed.runnerUp}) → ${report.status} after ${report.rounds.length} round(s), ${report.result?.draws} draws`,
    )
    expect(report.status).toBe('outcome-differs')
    const [wrong, other] = report.result?.contests ?? []
    expect(wrong).toMatchObject({
      contestId: reversed.rules.id,
      reported: [reversed.runnerUp],
      status: 'outcome-differs',
      handCount: { outcome: [reversed.winner] },
    })
    expect(wrong?.handCount?.votes[reversed.winner]).toBe(reversed.w)
    // The contest the misread did not touch: the full count confirms it.
    expect(other).toMatchObject({ contestId: confirmable.rules.id, status: 'confirmed-by-full-count', reported: [confirmable.winner] })
    // Sampling stopped at the full-count limit (half the ballots), and every paper was counted.
    expect(report.result?.draws).toBe(fullCountAt(N))
  })
})

describe('a ballot-comparison audit', () => {
  const margins = paperMargins()
  const N = Math.floor(settings.voters * settings.turnout)
  const reversed = margins[0]
  const superSimpleSize = (c: (typeof margins)[number]) =>
    Math.max(...comparisonPairs({ rules: c.rules, votes: c.votes, ballots: N }).map((p) => comparisonSampleSize(p.dilutedMargin, 0.05)))
  // The closest untouched contest that a comparison audit still settles in a few hundred ballots (where polling needs many more).
  const untouched = margins
    .filter((c) => c !== reversed && superSimpleSize(c) <= 300)
    .sort((a, b) => superSimpleSize(b) - superSimpleSize(a))[0]
  if (!reversed || !untouched) throw new Error('the simulated ballot lacks the contests this test needs')
  type Draw = {
    draw: number
    batch: string
    position: number
    paper: Record<string, string[]> | null
    cvr: Record<string, string[]> | null
  }

  it('puts each drawn record beside the paper with its imprint: an untouched contest confirmed in one round of the super-simple size, a reversed one taken to a full hand count', {
    timeout: 400_000,
  }, async () => {
    const id = `ac-${randomUUID().slice(0, 8)}`
    const share = Math.min(1, (reversed.w - reversed.l) / (2 * reversed.w) + 0.15)
    await createElection(id, { misread: { contestId: reversed.rules.id, from: reversed.winner, to: reversed.runnerUp, share } })
    await certifiedWithAuditFiles(id)

    // The published cast vote records carry each paper's imprint, each a different one.
    const cvrs = (await (await h.request(`/elections/${id}/audit/cvr.json`, { headers: h.admin })).json()) as {
      CVR: Array<{ BallotAuditId?: string }>
    }
    const imprints = new Set(cvrs.CVR.map((c) => c.BallotAuditId))
    expect(cvrs.CVR.length).toBe(N)
    expect(imprints.size).toBe(N)
    expect(imprints.has(undefined)).toBe(false)

    // The contest the misread did not touch: its records are its papers, so the first round is the last.
    const started = await startAudit(id, { contestIds: [untouched.rules.id], riskLimit: 0.05, seed: SEED, method: 'ballot-comparison' })
    expect(started.status, await started.clone().text()).toBe(202)
    const confirmed = await finished(id, ((await started.json()) as AuditReport).auditId)
    const superSimple = superSimpleSize(untouched)
    console.log(
      `comparison audit of ${untouched.rules.id} (${untouched.w} to ${untouched.l} of ${N}): ${confirmed.status} after ${confirmed.result?.draws} draws in ${confirmed.rounds.length} round(s); super-simple size ${superSimple}, BRAVO ASN ${bravoAsn(untouched.w / N, untouched.l / N, 0.05).toFixed(0)}`,
    )
    expect(confirmed).toMatchObject({ method: 'ballot-comparison', status: 'confirmed' })
    expect(confirmed.rounds.map((r) => r.draws)).toEqual([superSimple])
    for (const pair of confirmed.rounds[0]?.contests[0]?.pairs ?? []) {
      expect(pair.discrepancies).toEqual({ o1: 0, o2: 0, u1: 0, u2: 0 })
      expect(pair.pValue).toBeLessThanOrEqual(0.05)
    }
    const sample = (await (await h.request(`/elections/${id}/audits/${confirmed.auditId}/sample`, { headers: h.admin })).json()) as {
      draws: Draw[]
    }
    expect(sample.draws.length).toBe(superSimple)
    for (const d of sample.draws) {
      expect(d.cvr, `draw ${d.draw}`).not.toBeNull()
      expect(d.paper, `draw ${d.draw}`).toEqual(d.cvr)
    }

    // The reversed contest: the sample finds records that overstate the reported winner, and it never confirms.
    const again = await startAudit(id, { contestIds: [reversed.rules.id], riskLimit: 0.05, seed: SEED, method: 'ballot-comparison' })
    expect(again.status).toBe(202)
    const report = await finished(id, ((await again.json()) as AuditReport).auditId)
    const found = report.rounds[0]?.contests[0]?.pairs.find((p) => p.loser === reversed.winner)?.discrepancies
    console.log(
      `comparison audit of ${reversed.rules.id} misread (${Math.round(share * 100)} %): ${report.status} after ${report.rounds.length} round(s), ${report.result?.draws} draws; round 1 found ${JSON.stringify(found)}`,
    )
    expect(found?.o2).toBeGreaterThan(0)
    expect(report.status).toBe('outcome-differs')
    expect(report.result?.contests[0]).toMatchObject({ status: 'outcome-differs', handCount: { outcome: [reversed.winner] } })
    expect(report.rounds.every((r) => r.contests[0]?.status !== 'confirmed')).toBe(true)

    // A record changed after the commitment (once the seed is known, the drawn ones could be): the audit refuses to compare.
    const [rewritten] = await h.sql<{ n: number }[]>`
      with one as (select ctid from ballot_box where election_id = ${id} and marks ? ${untouched.rules.id} limit 1)
      update ballot_box b set marks = b.marks - ${untouched.rules.id}::text from one where b.ctid = one.ctid returning 1 as n`
    expect(rewritten?.n).toBe(1)
    const tampered = await startAudit(id, { contestIds: [untouched.rules.id], riskLimit: 0.05, seed: SEED, method: 'ballot-comparison' })
    expect(tampered.status).toBe(202)
    const failed = await finished(id, ((await tampered.json()) as AuditReport).auditId)
    expect(failed.status).toBe('failed')
    expect(failed.rounds).toEqual([])

    // Ballots without an imprint (cast with no paper): a comparison audit is refused, naming the method.
    const nulled =
      await h.sql`update ballot_box set imprint = null where election_id = ${id} and ctid = (select ctid from ballot_box where election_id = ${id} limit 1)`
    expect(nulled.count).toBe(1)
    const refused = await startAudit(id, { contestIds: [untouched.rules.id], riskLimit: 0.05, seed: SEED, method: 'ballot-comparison' })
    expect(refused.status).toBe(409)
    expect(await refused.text()).toMatch(/method: .*1 ballots without an imprint/)
  })
})

describe('an audit board', () => {
  const margins = paperMargins()
  const N = Math.floor(settings.voters * settings.turnout)
  const reversed = margins[0]
  if (!reversed) throw new Error('the simulated ballot lacks the contests this test needs')
  type Draw = { draw: number; round: number; paperState: string; imprint: string | null }

  it('enters the drawn papers and the full hand count through the API; the workflow waits for each round, and the count names the papers’ winner', {
    timeout: 400_000,
  }, async () => {
    const id = `ab-${randomUUID().slice(0, 8)}`
    const share = Math.min(1, (reversed.w - reversed.l) / (2 * reversed.w) + 0.15)
    await createElection(id, { misread: { contestId: reversed.rules.id, from: reversed.winner, to: reversed.runnerUp, share } })
    await certifiedWithAuditFiles(id)
    // The board: it finds each drawn record's paper by the imprint the retrieval list names.
    const sim = new Simulation(await loadPlan(h.sql, id))
    const paperOf = (imprint: string | null) => {
      const k = imprint ? sim.papersByImprint([imprint], N).get(imprint) : undefined
      return k === undefined ? null : interpretation(sim.paper(k) ?? {}, [reversed.rules.id])
    }
    const body = { contestIds: [reversed.rules.id], riskLimit: 0.05, seed: SEED, method: 'ballot-comparison', papers: 'board' }
    const started = await startAudit(id, body)
    expect(started.status, await started.clone().text()).toBe(202)
    const { auditId } = (await started.json()) as AuditReport
    const base = `/elections/${id}/audits/${auditId}`
    const put = (path: string, payload: unknown, headers: Record<string, string> = h.admin) =>
      h.request(`${base}${path}`, { method: 'PUT', headers, body: JSON.stringify(payload) })
    const pending = async () => {
      const sample = (await (await h.request(`${base}/sample`, { headers: h.admin })).json()) as { draws: Draw[] }
      return sample.draws.filter((d) => d.paperState === 'pending')
    }

    // Round 1 is drawn and waits: nothing decided until the board has read every paper.
    const first = await until(pending, (p) => p.length > 0, 60_000, 'round 1 drawn')
    const report = async () => (await (await h.request(base)).json()) as AuditReport
    expect((await report()).rounds).toEqual([])
    // Hostile entries: named fields, no change.
    const d1 = first[0] as Draw
    const refusals: Array<[string, unknown, number, RegExp]> = [
      [`/papers/${d1.draw}`, { marks: { 'no-such-contest': [] } }, 400, /marks\.no-such-contest/],
      [`/papers/${d1.draw}`, { marks: { [reversed.rules.id]: ['nobody'] } }, 400, /no line nobody/],
      [`/papers/${d1.draw}`, { marks: { [reversed.rules.id]: [reversed.winner, reversed.winner] } }, 400, /marked twice/],
      [`/papers/${d1.draw}`, { missing: false }, 400, /missing/],
      [`/papers/${d1.draw}`, { marks: {}, extra: 1 }, 400, /extra|Unrecognized/],
      [`/papers/${d1.draw}`, {}, 400, /marks/],
      [`/papers/${d1.draw}`, { marks: {}, missing: true }, 400, /marks/],
      ['/papers/999999', { marks: {} }, 404, /no draw/],
      ['/papers/0', { marks: {} }, 400, /draw/],
      ['/hand-count', { contests: {} }, 400, /missing/],
      ['/hand-count', { contests: { [reversed.rules.id]: {} } }, 409, /asks for no full hand count/],
      [`/papers/${d1.draw}`, { marks: {}, imprint: '00000000-00000000-00000000' }, 400, /imprint: the record at draw/],
      [`/papers/${d1.draw}`, { marks: {} }, 400, /imprint/],
      [`/papers/${d1.draw}`, JSON.parse('{"marks": {"__proto__": []}}'), 400, /__proto__/],
    ]
    for (const [path, payload, status, text] of refusals) {
      const res = await put(path, payload)
      expect(res.status, `${path} ${JSON.stringify(payload)}`).toBe(status)
      expect(await res.text()).toMatch(text)
    }
    expect((await put(`/papers/${d1.draw}`, { marks: {} }, {})).status).toBe(401)

    // The board reads round after round until the audit needs no more papers.
    let entered = 0
    for (;;) {
      const now = await report()
      const last = now.rounds.at(-1)
      if (now.status !== 'running' || last?.contests[0]?.status === 'full-hand-count-needed') break
      const waiting = await pending()
      if (waiting.length === 0) {
        await new Promise((r) => setTimeout(r, 200))
        continue
      }
      for (const d of waiting) {
        const paper = paperOf(d.imprint)
        const res = await put(`/papers/${d.draw}`, paper ? { marks: paper, imprint: d.imprint } : { missing: true })
        expect(res.status, await res.clone().text()).toBe(200)
        entered++
      }
    }
    const needsCount = await report()
    expect(needsCount.status).toBe('running')
    expect(needsCount.rounds.at(-1)?.contests[0]?.status).toBe('full-hand-count-needed')
    // A decided round's papers do not change.
    expect((await put(`/papers/${d1.draw}`, { missing: true })).status).toBe(409)

    // The full hand count: the papers' own totals, after a refused one that does not fit.
    const hand = await fullHandCount(sim, N, [reversed.rules])
    const tooMany = { contests: { [reversed.rules.id]: { [reversed.winner]: N + 1 } } }
    const refused = await put('/hand-count', tooMany)
    expect(refused.status).toBe(400)
    expect(await refused.text()).toMatch(/more than/)
    expect((await put('/hand-count', { contests: hand })).status).toBe(200)
    const done = await finished(id, auditId)
    console.log(
      `board audit ${auditId}: ${entered} papers entered over ${done.rounds.length} round(s), ${done.result?.draws} draws → ${done.status}`,
    )
    expect(done).toMatchObject({ status: 'outcome-differs', papers: 'board', method: 'ballot-comparison' })
    expect(done.result?.contests[0]).toMatchObject({ status: 'outcome-differs', handCount: { outcome: [reversed.winner] } })
    expect((await put('/hand-count', { contests: hand })).status).toBe(409)
    // The database holds the same rules for anyone with psql: a decided round's paper, a count not asked for.
    await expect(h.sql`update audit_ballots set paper = '{"changed": []}' where audit_id = ${auditId} and draw = 1`).rejects.toThrow(
      /not open to entry/,
    )
    await expect(h.sql`update audits set hand_count = '{}' where id = ${auditId}`).rejects.toThrow(/no full hand count/)
  })
  it('polls papers the board enters, a missing one counted against the reported winner', { timeout: 300_000 }, async () => {
    const id = `abp-${randomUUID().slice(0, 8)}`
    await createElection(id)
    await certifiedWithAuditFiles(id)
    const contest = margins.find((c) => c !== reversed && c.w - c.l > N / 4)
    if (!contest) throw new Error('no contest with a wide margin')
    // The board: it finds the paper at each drawn place of the manifest's containers.
    const sim = new Simulation(await loadPlan(h.sql, id))
    const source = await auditSource(h.sql, id)
    const committed = await readAuditCommitment(h.sql, id)
    if (!source || !committed) throw new Error('no audit files')
    const manifest = await auditManifest(h.sql, source, committed)
    const stacks = await simulatedPapers(sim, manifest)
    const batches = new Map(manifest.map((b) => [b.name, b]))
    const started = await startAudit(id, { contestIds: [contest.rules.id], riskLimit: 0.05, seed: SEED, papers: 'board' })
    expect(started.status, await started.clone().text()).toBe(202)
    const { auditId } = (await started.json()) as AuditReport
    const base = `/elections/${id}/audits/${auditId}`
    type Draw = { draw: number; batch: string; position: number; paperState: string }
    let missing: number | null = null
    for (;;) {
      const now = (await (await h.request(base)).json()) as AuditReport
      if (now.status !== 'running') break
      const sample = (await (await h.request(`${base}/sample`, { headers: h.admin })).json()) as { draws: Draw[] }
      const waiting = sample.draws.filter((d) => d.paperState === 'pending')
      if (waiting.length === 0) {
        await new Promise((r) => setTimeout(r, 200))
        continue
      }
      for (const d of waiting) {
        const batch = batches.get(d.batch)
        if (!batch) throw new Error(`no batch ${d.batch}`)
        const body =
          missing === null
            ? { missing: true }
            : { marks: interpretation(stacks.paperAt(batch, d.position, committed.containerSize), [contest.rules.id]) }
        missing ??= d.draw
        const res = await h.request(`${base}/papers/${d.draw}`, { method: 'PUT', headers: h.admin, body: JSON.stringify(body) })
        expect(res.status, await res.clone().text()).toBe(200)
      }
    }
    const done = (await (await h.request(base)).json()) as AuditReport
    console.log(
      `board polling audit ${auditId} of ${contest.rules.id}: ${done.status} after ${done.result?.draws} draws in ${done.rounds.length} round(s), draw ${missing} not found`,
    )
    expect(done).toMatchObject({ status: 'confirmed', papers: 'board', method: 'ballot-polling' })
    const sample = (await (await h.request(`${base}/sample`, { headers: h.admin })).json()) as { draws: Draw[] }
    expect(sample.draws.find((d) => d.draw === missing)?.paperState).toBe('missing')
    // The missing paper counted as a ballot for the loser: round 1's loser ballots are the papers for the runner-up, and it.
    const admin = (await (await h.request(`${base}/sample`, { headers: h.admin })).json()) as {
      rounds: AuditReport['rounds']
      draws: Array<Draw & { round: number; paper: Record<string, string[]> | null }>
    }
    const forLoser = admin.draws.filter((d) => {
      if (d.round !== 1) return false
      if (d.paperState === 'missing') return true
      const counted = countedSelections(contest.rules, d.paper?.[contest.rules.id])
      return counted.has(contest.runnerUp) && !counted.has(contest.winner)
    }).length
    const pair = admin.rounds[0]?.contests[0]?.pairs.find((p) => p.loser === contest.runnerUp)
    expect(pair?.loserBallots).toBe(forLoser)

    // A board's audit waits as long as it takes: one abandoned is stopped through the API, and the election can be audited again.
    expect((await h.request(`${base}/cancel`, { method: 'POST', headers: h.admin })).status).toBe(409)
    const again = await startAudit(id, { contestIds: [contest.rules.id], riskLimit: 0.05, seed: SEED, papers: 'board' })
    const abandoned = ((await again.json()) as AuditReport).auditId
    const abandonedBase = `/elections/${id}/audits/${abandoned}`
    await until(
      async () => ((await (await h.request(`${abandonedBase}/sample`, { headers: h.admin })).json()) as { draws: Draw[] }).draws.length,
      (n) => n > 0,
      60_000,
      'the abandoned audit drawn',
    )
    expect((await h.request(`${abandonedBase}/cancel`, { method: 'POST' })).status).toBe(401)
    expect((await h.request(`${abandonedBase}/cancel`, { method: 'POST', headers: h.admin })).status).toBe(202)
    expect((await finished(id, abandoned)).status).toBe('failed')
    const next = await startAudit(id, { contestIds: [contest.rules.id], riskLimit: 0.05, seed: SEED })
    expect(next.status).toBe(202)
    expect((await finished(id, ((await next.json()) as AuditReport).auditId)).status).toBe('confirmed')
  })
})
