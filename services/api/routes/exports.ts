import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { AppError } from '../../../domain/errors.ts'
import { type CdfResultsInput, cdfResultsReport } from '../../../domain/exports/cdf-results.ts'
import { contestRounds } from '../../../domain/rcv/contest-rounds.ts'
import { type CdfExportFacts, readCdfExportFacts } from '../../../lib/db/cdf-export.ts'
import { readSnapshot } from '../../../lib/db/sql.ts'
import { electionDay } from '../../../lib/exports/election-day.ts'
import type { ApiDeps } from '../deps.ts'
import { createVersionedDocuments } from '../results-documents.ts'
import { ElectionIdParam, problemResponses } from '../schemas.ts'
import { validationHook } from '../validation.ts'
import { matchesEtag } from './results.ts'

/** The facts of an election as NIST's results format takes them (domain/exports/cdf-results.ts). */
export function cdfInput(f: CdfExportFacts, options: { generatedAt: string }): CdfResultsInput {
  const byContest = <X extends { contestId: string }>(xs: X[]) => {
    const out = new Map<string, X[]>()
    for (const x of xs) out.set(x.contestId, [...(out.get(x.contestId) ?? []), x])
    return out
  }
  const votes = byContest(f.votes)
  const ballots = byContest(f.ballots)
  const e = f.election
  return {
    election: {
      id: e.id,
      name: e.name,
      date: electionDay(e),
      status: e.status,
      isTest: e.test,
      ...(e.simulated ? { testType: 'simulation' } : e.test ? { testType: 'test election' } : {}),
    },
    generatedAt: options.generatedAt,
    issuer: 'VoteStream',
    jurisdiction: { name: e.name },
    regions: f.regions,
    districts: f.districts,
    contests: f.definition.contests.map((rules) => ({
      rules,
      regions: f.definition.regionsOfContest.get(rules.id) ?? [],
      votes: votes.get(rules.id) ?? [],
      ballots: ballots.get(rules.id) ?? [],
      ...(rules.rcv ? { rounds: contestRounds(rules, f.rankings.get(rules.id) ?? []) } : {}),
    })),
    turnout: f.turnout,
    minCellBallots: e.minCellBallots,
  }
}

/** Standard exports of an election's results (NIST SP 1500-100). */
export function exportRoutes(deps: ApiDeps) {
  // Public reads: the standby where there is one (ApiDeps.readSql).
  const sql = deps.readSql
  const app = new OpenAPIHono({ defaultHook: validationHook })
  // Precinct-level documents of a county are large (every selection × unit × vote type):
  // built once per results version and shared, as the results document is.
  const cdf = createVersionedDocuments(
    sql,
    { onError: (err) => deps.log.warn({ err }, 'CDF export refresh failed; the previous one is served') },
    async (id) => {
      const facts = await readSnapshot(sql, (tx) => readCdfExportFacts(tx, id))
      if (!facts) throw new AppError('conflict', `election ${id} has no contests defined: its results are at /elections/${id}/results`)
      const report = cdfResultsReport(cdfInput(facts, { generatedAt: new Date().toISOString() }))
      return { version: facts.version, etag: `"cdf-${facts.version}"`, body: JSON.stringify(report), value: null }
    },
  )
  return app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/results.cdf.json',
      summary: 'The results in the NIST SP 1500-100 v2 Election Results Reporting format (JSON), precinct level',
      description:
        'Every contest, every selection, per precinct, group and the whole election, per vote type (election-day, early, absentee-mail, total), ' +
        'with over- and undervotes and write-ins, SubUnitsReported/TotalSubUnits, ResultsStatus from the lifecycle and IsTest for simulations. ' +
        'Cells with fewer ballots than the minimum, and enough others that the sums do not give them back, carry IsSuppressedForPrivacy and no count. ' +
        "Validated in CI against NIST's own JSON schema. Answers 304 to If-None-Match with the current ETag; 409 for an election without contests.",
      request: { params: ElectionIdParam },
      responses: {
        200: { description: 'an ElectionResults.ElectionReport', content: { 'application/json': { schema: z.object({}).passthrough() } } },
        304: { description: 'unchanged' },
        ...problemResponses(400, 404, 409),
      },
    }),
    async (c) => {
      const doc = await cdf.current(c.req.valid('param').id)
      c.header('ETag', doc.etag)
      c.header('Cache-Control', 'no-cache')
      if (matchesEtag(c.req.header('if-none-match'), doc.etag)) return c.body(null, 304)
      return c.body(doc.body, 200, { 'content-type': 'application/json' })
    },
  )
}
