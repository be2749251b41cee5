import { randomUUID } from 'node:crypto'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contestCallContradiction, decideContestCalls } from '../domain/contest-calls.ts'
import { cdfIds, cdfResultsReport } from '../domain/exports/cdf-results.ts'
import { verifyCommitment } from '../domain/exports/commitment.ts'
import type { Ranking } from '../domain/rcv/ballot.ts'
import { contestRounds } from '../domain/rcv/contest-rounds.ts'
import { plainTabulate } from '../domain/rcv/plain-tabulate.ts'
import type { RcvRules } from '../domain/rcv/rules.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { rcvRanking } from '../domain/tabulation.ts'
import { readAuditCommitment } from '../lib/db/audit-files.ts'
import { runningRankings } from '../lib/db/ballot-box.ts'
import { readCdfExportFacts } from '../lib/db/cdf-export.ts'
import { latestCertificationCheck } from '../lib/db/certification.ts'
import { loadDefinitions } from '../lib/db/contests.ts'
import { createSimulatedElection } from '../lib/db/elections.ts'
import { loadResults } from '../lib/db/results.ts'
import { compareContestTruth, loadPlan } from '../lib/db/simulation.ts'
import { readSnapshot } from '../lib/db/sql.ts'
import { electionIdKey, electionStatusKey } from '../lib/election-workflow-contract.ts'
import { auditSource, CVR_FILE, cvrFile, MANIFEST_FILE, manifestFile, talliesFiles } from '../lib/exports/audit-files.ts'
import { nistValidator } from '../lib/standards/nist-schemas.ts'
import { cdfInput } from '../services/api/routes/exports.ts'
import type { electionWorkflow } from '../workflows/election.ts'
import { testSql } from './helpers.ts'
import { buildWorker, startTally, startWorker, type TallyProcess, type WorkerProcess } from './processes.ts'

const sql = testSql()
const taskQueue = `contests-${randomUUID().slice(0, 8)}`
let connection: Connection
let client: Client
let tally: TallyProcess
let worker: WorkerProcess

beforeAll(async () => {
  buildWorker()
  // A short ballot-box window, so the mixer runs while the election does.
  tally = await startTally({ name: 'tally-for-contests', env: { TALLY_BALLOT_BOX_MIX_SECONDS: '2' } })
  await tally.waitHealthy()
  worker = startWorker(taskQueue, 'worker-for-contests')
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' })
  client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' })
})
afterAll(async () => {
  await worker?.stop()
  await tally?.stop()
  await connection?.close()
  await sql.end({ timeout: 5 })
})

describe('a simulated election with a long ballot', () => {
  it('certifies equal to the ground truth in every contest × selection × region × channel cell, the invariant holding in each', {
    timeout: 240_000,
  }, async () => {
    const id = `lb-${randomUUID().slice(0, 8)}`
    const plan = defaultPlan(
      id,
      // With an imprint key, as the API draws one for a long-ballot simulation.
      {
        seed: 24,
        voters: 20_000,
        turnout: 0.75,
        invalidShare: 0.01,
        duplicateShare: 0.005,
        contests: true,
        imprintKey: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
      },
      { regions: 300 },
    )
    // Every contest shown, however few its ballots (these checks are about the count and the
    // calls; suppression has tests of its own): the election's smallest public cell is 1.
    await createSimulatedElection(sql, plan, `Long ballot ${id}`, {}, { minCellBallots: 1 })
    const handle = await client.workflow.start<typeof electionWorkflow>('electionWorkflow', {
      taskQueue,
      workflowId: `election-${id}`,
      args: [{ electionId: id, simulation: { ratePerSecond: 6_000 }, reconcileEverySeconds: 5 }],
      typedSearchAttributes: [
        { key: electionIdKey, value: id },
        { key: electionStatusKey, value: 'open' },
      ],
    })
    const outcome = await handle.result()
    expect(outcome.reconciliation).toBe('match')
    expect(outcome.counted).toBe(15_000)
    const [e] = await sql<{ status: string }[]>`select status from elections where id = ${id}`
    expect(e?.status).toBe('certified')

    const truth = await compareContestTruth(sql, id)
    console.log(`long ballot ${id}: ${truth.compared} contest cells compared with the ground truth, ${truth.differing} differ`)
    expect(truth.differences).toEqual([])
    expect(truth.compared).toBeGreaterThan(5_000)

    // The final reconciliation recounted every contest from the ballot box: equal, and balanced in every cell.
    const [final] = await sql<{ contests: { differences: unknown[]; cells: number; unbalanced: number } }[]>`
      select contests from reconciliation_reports where election_id = ${id} and final order by id desc limit 1`
    expect(final?.contests).toMatchObject({ differences: [], unbalanced: 0 })
    expect(final?.contests.cells).toBeGreaterThan(2_000)
    const [pending] = await sql<{ n: number }[]>`select count(*)::int as n from ballot_box_pending where election_id = ${id}`
    expect(pending?.n).toBe(0)
    const [boxed] = await sql<{ n: number }[]>`select count(*)::int as n from ballot_box where election_id = ${id}`
    expect(boxed?.n).toBe(15_000)
    // The generator's invalid marks were refused with their own reason.
    const reasons = await sql<{ reason: string }[]>`select distinct reason from rejected_ballots where election_id = ${id}`
    expect(reasons.map((r) => r.reason)).toContain('unknown_selection')

    // Race calls per contest, recorded by the workflow: every seat and measure whose final
    // count is not tied at its boundary is called, and no call the final count contradicts
    // stands (the certification checklist says the same).
    const results = await loadResults(sql, id)
    const definition = (await loadDefinitions(sql, [id])).get(id)
    const contests = results.contests ?? []
    expect(contests.length).toBe(definition?.contests.length)
    let seats = 0
    let calledEarly = 0
    for (const c of contests) {
      const rules = definition?.contests.find((k) => k.id === c.id)
      if (!rules || !c.votes || !c.outcome) throw new Error(`contest ${c.id} without its rules or totals`)
      const votes = new Map(Object.entries(c.votes))
      const standing = c.outcome.calls.filter((k) => k.status === 'standing')
      for (const call of standing) expect(contestCallContradiction(rules, call, votes), `${c.id}: ${call.selectionId}`).toBeNull()
      calledEarly += c.outcome.calls.filter((k) => (k.figures?.outstanding ?? 0) > 0).length
      const uncalled = decideContestCalls(rules, votes, { outstanding: 0, rule: 'final' }, standing).length > 0
      expect(uncalled, `${c.id}: a seat the final count decides is not called`).toBe(false)
      seats += standing.length
    }
    const check = await latestCertificationCheck(sql, id)
    const item = check?.items.find((i) => i.id === 'race_calls_agree')
    expect(item).toMatchObject({ passed: true, detail: expect.stringContaining(`${seats} standing calls`) })
    console.log(
      `long ballot ${id}: ${seats} contest calls standing (${calledEarly} made while ballots were outstanding), none contradicted`,
    )
    expect(seats).toBeGreaterThan(contests.length / 2)

    // Ranked-choice contests: their certified rounds (the API's rounds, from the box's
    // rankings) equal a plain ballot-by-ballot count of the generator's own rankings, each
    // is called for the rounds' winner, and certification recounted their rankings.
    const sim = new Simulation(await loadPlan(sql, id))
    const ranked = definition?.contests.filter((k) => k.rcv) ?? []
    const roundsOf = new Map<string, ReturnType<typeof plainTabulate>>()
    expect(ranked.length).toBeGreaterThan(0)
    for (const rules of ranked) {
      const styles = new Set([...(definition?.styles ?? [])].filter(([, list]) => list.includes(rules.id)).map(([s]) => s))
      const papers: Ranking[] = []
      for (let k = 0; k < sim.ballotCount; k++) {
        const paper = sim.paperAt(k)
        if (paper && styles.has(definition?.styleOfRegion.get(paper.regionId) ?? '')) papers.push(rcvRanking(paper.marks[rules.id] ?? []))
      }
      const expected = plainTabulate(
        rules.rcv as RcvRules,
        rules.selections.map((x) => x.id),
        papers,
      )
      const counted = contestRounds(rules, await runningRankings(sql, id, rules.id))
      expect(counted, rules.id).toEqual(expected)
      roundsOf.set(rules.id, expected)
      const standing = contests.find((c) => c.id === rules.id)?.outcome?.calls.filter((k) => k.status === 'standing') ?? []
      if (expected.ballots > expected.undervotes)
        expect(
          standing.map((k) => k.selectionId),
          rules.id,
        ).toEqual([expected.winner])
    }
    const rankedItem = check?.items.find((i) => i.id === 'ranked_rounds_recounted')
    expect(rankedItem).toMatchObject({ passed: true, detail: expect.stringContaining(`${ranked.length} ranked contests`) })
    console.log(`long ballot ${id}: ${ranked.length} ranked contests, rounds equal to a plain count of the generator's rankings`)

    // The certified results in NIST's format, precinct level: valid against NIST's own
    // schema, certified, a test, and each selection's total at the top unit equal to the count.
    const facts = await readSnapshot(sql, (tx) => readCdfExportFacts(tx, id))
    if (!facts) throw new Error('no export facts for an election with contests')
    const report = cdfResultsReport(cdfInput(facts, { generatedAt: new Date().toISOString() }))
    const problems = nistValidator('results')(report)
    expect(problems.slice(0, 5)).toEqual([])
    const election = report.Election[0]
    expect(report).toMatchObject({ IsTest: true, Format: 'precinct-level' })
    expect(election?.Contest.length).toBe(contests.length)
    const top = cdfIds.jurisdiction(id)
    let checked = 0
    for (const c of contests) {
      const exported = election?.Contest.find((k) => k['@id'] === cdfIds.contest(c.id))
      for (const [line, votes] of Object.entries(c.votes ?? {})) {
        const selection = exported?.ContestSelection.find((s) => s['@id'] === cdfIds.selection(c.id, line))
        const total = selection?.VoteCounts.find((v) => v.GpUnitId === top && v.Type === 'total' && v.Round === undefined)
        expect(total?.Count, `${c.id} ${line}`).toBe(votes)
        checked++
      }
    }
    // A ranked contest's rounds, jurisdiction-wide, as VoteCounts with Round (none for a small contest).
    let roundCounts = 0
    for (const [contestId, expected] of roundsOf) {
      const exported = election?.Contest.find((k) => k['@id'] === cdfIds.contest(contestId))
      const shown = expected.ballots - expected.undervotes >= 10
      for (const r of shown ? expected.rounds : [])
        for (const [candidate, votes] of Object.entries(r.tally)) {
          const selection = exported?.ContestSelection.find((s) => s['@id'] === cdfIds.selection(contestId, candidate))
          expect(selection?.VoteCounts.find((v) => v.Round === r.round)?.Count, `${contestId} round ${r.round} ${candidate}`).toBe(votes)
          roundCounts++
        }
      if (!shown) expect(exported?.ContestSelection.flatMap((s) => s.VoteCounts).filter((v) => v.Round !== undefined)).toEqual([])
    }
    expect(roundCounts).toBeGreaterThan(0)
    console.log(
      `long ballot ${id}: NIST 1500-100 export valid against NIST's schema, ${checked} selection totals equal to the count, ${roundCounts} ranked-choice round counts equal to the rounds`,
    )

    // The audit files, committed by the workflow when counting finished: regenerated from the
    // box, each is the bytes committed; the CVRs are valid against NIST's CVR schema, one per
    // ballot, and the manifest holds every ballot.
    const stored = await readAuditCommitment(sql, id)
    if (!stored) throw new Error('no audit commitment stored for a certified election')
    expect(stored.ballots).toBe(15_000)
    const source = await auditSource(sql, id)
    if (!source) throw new Error('no audit source')
    const regenerated = await readSnapshot(sql, async (tx) => {
      let cvr = ''
      for await (const chunk of cvrFile(tx, source, stored.generatedAt, stored.containerSize)) cvr += chunk
      return {
        cvr,
        manifest: await manifestFile(tx, source, stored.containerSize),
        tallies: await talliesFiles(tx, source, stored.containerSize),
      }
    })
    const files = [
      { name: CVR_FILE, content: regenerated.cvr },
      { name: MANIFEST_FILE, content: regenerated.manifest },
      ...[...regenerated.tallies].map(([name, content]) => ({ name, content })),
    ]
    expect(verifyCommitment(files, stored.commitment)).toEqual({ ok: true, problems: [] })
    const cvr = JSON.parse(regenerated.cvr)
    expect(nistValidator('cvr')(cvr).slice(0, 5)).toEqual([])
    expect(cvr.CVR).toHaveLength(15_000)
    // Each record names its paper by the imprint the simulator's scanner printed: all different, none missing.
    expect(new Set(cvr.CVR.map((c: { BallotAuditId?: string }) => c.BallotAuditId ?? null).filter(Boolean)).size).toBe(15_000)
    const manifestBallots = regenerated.manifest
      .trim()
      .split('\r\n')
      .slice(1)
      .reduce((n, line) => n + Number(line.split(',').at(-1)), 0)
    expect(manifestBallots).toBe(15_000)
    console.log(
      `long ballot ${id}: ${stored.files.length} audit files committed (${stored.commitment.slice(0, 16)}…), regenerated equal; CVRs valid against NIST's CVR schema`,
    )
  })
})
