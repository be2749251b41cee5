import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ResultsSnapshot } from '../domain/results.ts'
import { LOCAL_ADMIN_TOKEN } from '../services/api/config.ts'
import { launchBrowser } from './browser.ts'
import { ROOT, testSql } from './helpers.ts'
import { buildWorker, startApi, startTally, startWorker, type TallyProcess, type WorkerProcess } from './processes.ts'
import { followSse } from './sse.ts'

const sql = testSql()
const taskQueue = `e2e-${randomUUID().slice(0, 8)}`
let api: Awaited<ReturnType<typeof startApi>>
let tally: TallyProcess
let worker: WorkerProcess
const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, 'content-type': 'application/json' }

beforeAll(async () => {
  buildWorker()
  tally = await startTally({ name: 'tally-e2e' })
  worker = startWorker(taskQueue, 'worker-e2e')
  api = await startApi({ port: 13_000, taskQueue, name: 'api-e2e' })
  await tally.waitHealthy()
})
afterAll(async () => {
  await api?.stop()
  await worker?.stop()
  await tally?.stop()
  await sql.end({ timeout: 5 })
})

async function createSimulated(voters: number, rate: number) {
  const res = await fetch(`${api.url}/elections`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'End to end', simulation: { voters, ratePerSecond: rate, invalidShare: 0.02, duplicateShare: 0.01 } }),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string }
}

describe('end to end through the API processes', () => {
  it('starts an election over HTTP, follows its SSE stream to certified, and the last snapshot equals the ground truth', async () => {
    const { id } = await createSimulated(20_000, 4000)
    const { last, events } = await followSse<ResultsSnapshot>(
      `${api.url}/elections/${id}/results/stream`,
      (s) => s.status === 'certified',
      120_000,
    )
    expect(events).toBeGreaterThan(2)
    const truth = await sql<{ candidateId: string; votes: number }[]>`
      select candidate_id, sum(votes)::int as votes from simulation_truth where election_id = ${id} group by 1`
    const injected = await sql<
      { reason: string; ballots: number }[]
    >`select reason, ballots::int from simulation_injected where election_id = ${id}`
    expect(Object.fromEntries(last.candidates.map((c) => [c.id, c.votes]))).toEqual(
      Object.fromEntries(truth.map((t) => [t.candidateId, t.votes])),
    )
    expect(last.rejections).toEqual(Object.fromEntries(injected.map((i) => [i.reason, i.ballots])))
    expect(last.totals.counted).toBe(14_000)
    expect(last.reportingStatus).toBe('certified')
    const check = await (await fetch(`${api.url}/elections/${id}/simulation`)).json()
    expect(check.matches).toBe(true)
    // Cell by cell: every candidate × region × channel the generator produced, none differing.
    expect(check.cells.mismatched).toBe(0)
    expect(check.cells.compared).toBeGreaterThanOrEqual(last.candidates.length * last.regions.length)
  }, 180_000)

  it('shows the candidates and turnout in a real browser, with numbers that change while the election runs', async () => {
    const { id } = await createSimulated(40_000, 1500)
    const browser = await launchBrowser()
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 1100 } })
      await page.goto(`${api.url}/live/${id}`)
      await page.waitForSelector('[data-candidate="ada"]')
      // A simulation is a test: the page says so before anything else.
      await page.waitForSelector('#testBanner:not([hidden])')
      expect(await page.textContent('#testBanner')).toMatch(/^TEST\b.*simulation/)
      const counted = async () => Number((await page.textContent('[data-testid="counted"]'))?.replace(/\D/g, '') || 0)
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="counted"]')?.textContent?.replace(/\D/g, '') || 0) > 0)
      const first = await counted()
      await page.waitForFunction(
        (n) => Number(document.querySelector('[data-testid="counted"]')?.textContent?.replace(/\D/g, '') || 0) > n,
        first,
        { timeout: 20_000 },
      )
      expect(await counted()).toBeGreaterThan(first)
      expect(await page.locator('[data-candidate]').count()).toBe(4)
      expect(await page.locator('#regions tr').count()).toBe(8)
      expect(await page.textContent('#status')).toMatch(/unofficial partial/)
      // The map: one mark per region, coloured by the leader the API reports for it.
      // Counts move between the page's snapshot and ours, and early on a region's lead flips
      // often: most leaders agree in one of a few looks, a second apart.
      let agreeing = 0
      let shownVersion = ''
      for (let look = 0; look < 5 && agreeing < 6; look++) {
        if (look > 0) await new Promise((r) => setTimeout(r, 1000))
        const marks = await page.$$eval('#map circle', (cs) =>
          cs.map((c) => [c.getAttribute('data-region'), c.getAttribute('data-leader')]),
        )
        expect(marks).toHaveLength(8)
        shownVersion = await page.evaluate(() => document.getElementById('version')?.textContent ?? '')
        const api_ = (await (await fetch(`${api.url}/elections/${id}/results`)).json()) as ResultsSnapshot
        const leaders = new Map(api_.regions.map((r) => [r.id, r.leader ?? '']))
        agreeing = marks.filter(([region, leader]) => leaders.get(region ?? '') === leader).length
      }
      expect(agreeing, `page ${shownVersion}`).toBeGreaterThanOrEqual(6)
      // Votes over time: one line per candidate.
      await page.waitForFunction(() => document.querySelectorAll('#trend polyline').length === 4, undefined, { timeout: 15_000 })
      await page.screenshot({ path: `${ROOT}/test-results/live-page.png`, fullPage: true })
      await page.setViewportSize({ width: 375, height: 800 })
      await page.screenshot({ path: `${ROOT}/test-results/live-page-phone.png`, fullPage: true })
      // The home page lists it, with its status.
      await page.setViewportSize({ width: 1100, height: 800 })
      await page.goto(`${api.url}/`)
      await page.waitForSelector(`[data-election="${id}"]`)
      expect(await page.textContent(`[data-election="${id}"]`)).toMatch(/open/)
      expect(await page.textContent(`[data-election="${id}"]`)).toMatch(/TEST/)
    } finally {
      await browser.close()
      await fetch(`${api.url}/elections/${id}/stop`, { method: 'POST', headers: admin })
    }
  }, 120_000)
})
