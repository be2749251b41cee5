import { randomUUID } from 'node:crypto'
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { auditReportSchema, auditRequestSchema, auditRoundSchema, publicRound } from '../../../domain/audit/report.ts'
import { AppError } from '../../../domain/errors.ts'
import { imprintCoverage, readAuditCommitment } from '../../../lib/db/audit-files.ts'
import {
  type AuditRow,
  createAudit,
  dropAuditRequest,
  listAudits,
  readAudit,
  readAuditBallotsPage,
  readAuditRounds,
} from '../../../lib/db/audits.ts'
import { loadDefinitions } from '../../../lib/db/contests.ts'
import { getElection } from '../../../lib/db/elections.ts'
import type { Sql } from '../../../lib/db/sql.ts'
import { auditWorkflowId } from '../../../lib/temporal-audits.ts'
import { requireAdmin } from '../auth.ts'
import type { ApiDeps } from '../deps.ts'
import { ElectionIdParam, json, problemResponses } from '../schemas.ts'
import { validationHook } from '../validation.ts'

// Strict: a field the audit does not know is refused, not ignored.
const AuditRequest = z.strictObject(auditRequestSchema.shape).openapi('AuditRequest')
const AuditReport = z
  .object(auditReportSchema.shape)
  .extend({ links: z.object({ self: z.string(), workflow: z.string(), sample: z.string() }) })
  .openapi('AuditReport')
const AuditParams = ElectionIdParam.extend({
  auditId: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'an audit id (letters, digits, _ -)')
    .openapi({ param: { name: 'auditId', in: 'path' } }),
})
const SampleQuery = z.object({
  /** Draws after this one (0 for the first page). */
  after: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
})
const AuditSample = z
  .object({
    auditId: z.string(),
    /** The rounds with each pair's sampled ballots. */
    rounds: z.array(z.object(auditRoundSchema.shape)),
    /** The next page: draws after the last one here; null at the end. */
    next: z.string().nullable(),
    draws: z.array(
      z.object({
        draw: z.number(),
        round: z.number(),
        ticket: z.number(),
        batch: z.string(),
        position: z.number(),
        /** The paper's marks in the audited contests, as the audit read them (null: no paper found for the record drawn). */
        paper: z.record(z.string(), z.array(z.string())).nullable(),
        /** Comparison audits: the cast vote record at the drawn place, in the audited contests (null: none with an imprint). */
        cvr: z.record(z.string(), z.array(z.string())).nullable().optional(),
      }),
    ),
  })
  .openapi('AuditSample')

/**
 * Risk-limiting audits (workflows/audit.ts): an operator starts one after certification,
 * with the contests, the risk limit and the seed rolled on dice; anyone reads its report
 * (rounds, risks, outcome); the sample with each paper's marks is the admin's, like the
 * cast vote records.
 */
export function auditRunRoutes(deps: ApiDeps) {
  const { sql } = deps
  const app = new OpenAPIHono({ defaultHook: validationHook })
  const adminOnly = requireAdmin(deps.config.API_ADMIN_TOKEN)
  const present = async (row: AuditRow) => {
    const self = `/elections/${encodeURIComponent(row.electionId)}/audits/${encodeURIComponent(row.id)}`
    return {
      auditId: row.id,
      electionId: row.electionId,
      method: row.method,
      contestIds: row.contestIds,
      riskLimit: row.riskLimit,
      seed: row.seed,
      commitment: row.commitment,
      status: row.status,
      startedAt: row.startedAt.toISOString(),
      finishedAt: row.finishedAt?.toISOString() ?? null,
      rounds: (await readAuditRounds(sql, row.id)).map(publicRound),
      result: row.result,
      links: {
        self,
        sample: `${self}/sample`,
        workflow: `${deps.config.TEMPORAL_UI_URL}/namespaces/${deps.config.TEMPORAL_NAMESPACE}/workflows/${auditWorkflowId(row.id)}`,
      },
    }
  }
  const auditOf = async (electionId: string, auditId: string) => {
    const row = await readAudit(sql, auditId)
    if (!row || row.electionId !== electionId) throw new AppError('not_found', `election ${electionId} has no audit ${auditId}`)
    return row
  }
  return app
    .openapi(
      createRoute({
        method: 'post',
        path: '/{id}/audits',
        summary: 'Start a risk-limiting audit (BRAVO ballot polling) of certified contests (admin)',
        description:
          'The seed is the dice rolls, typed in after the audit files were committed (GET /elections/{id}/audit). Only simulated elections can be audited here: their papers are the generator’s ballots. 409 unless the election is certified with committed audit files.',
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: { params: ElectionIdParam, body: { content: { 'application/json': { schema: AuditRequest } }, required: true } },
        responses: { 202: json(AuditReport, 'started'), ...problemResponses(400, 401, 404, 409, 503) },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        const body = c.req.valid('json')
        const row = await requestAudit(sql, id, body)
        try {
          await deps.audits.start(row.id)
        } catch (err) {
          await dropAuditRequest(sql, row.id)
          if (err instanceof AppError) throw err
          throw new AppError('unavailable', 'the workflow service did not take the audit: try again', undefined, { cause: err })
        }
        return c.json(await present(row), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/audits',
        summary: "The election's audits, newest first",
        request: { params: ElectionIdParam },
        responses: { 200: json(z.object({ audits: z.array(AuditReport) }), 'the audits'), ...problemResponses(400, 404) },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        await getElection(sql, id)
        const rows = await listAudits(sql, id)
        return c.json({ audits: await Promise.all(rows.map(present)) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/audits/{auditId}',
        summary: "An audit's report: its rounds, each contest's measured risk and the outcome",
        request: { params: AuditParams },
        responses: { 200: json(AuditReport, 'the report'), ...problemResponses(400, 404) },
      }),
      async (c) => {
        const { id, auditId } = c.req.valid('param')
        return c.json(await present(await auditOf(id, auditId)), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/audits/{auditId}/sample',
        summary: "An audit's sample: each draw, where its paper lies and what it says in the audited contests (admin)",
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: { params: AuditParams, query: SampleQuery },
        responses: { 200: json(AuditSample, 'the sample'), ...problemResponses(400, 401, 404) },
      }),
      async (c) => {
        const { id, auditId } = c.req.valid('param')
        const { after, limit } = c.req.valid('query')
        await auditOf(id, auditId)
        const draws = await readAuditBallotsPage(sql, auditId, after, limit)
        const last = draws[draws.length - 1]
        const next =
          draws.length === limit && last
            ? `/elections/${encodeURIComponent(id)}/audits/${encodeURIComponent(auditId)}/sample?after=${last.draw}&limit=${limit}`
            : null
        return c.json({ auditId, rounds: await readAuditRounds(sql, auditId), draws, next }, 200)
      },
    )
}

/** Checks an audit request against the election and records it: the election certified, its files committed, its contests real. */
async function requestAudit(sql: Sql, electionId: string, body: z.infer<typeof AuditRequest>): Promise<AuditRow> {
  const election = await getElection(sql, electionId)
  if (election.status !== 'certified')
    throw new AppError('conflict', `election ${electionId} is ${election.status}: an audit starts after certification`)
  const stored = await readAuditCommitment(sql, electionId)
  if (!stored)
    throw new AppError('conflict', `election ${electionId} has no committed audit files: an audit draws its sample only after them`)
  if (!election.simulated) {
    throw new AppError(
      'conflict',
      `election ${electionId} was not simulated: its papers are read by hand, and entering their interpretations through the API is not built yet`,
    )
  }
  const definition = (await loadDefinitions(sql, [electionId])).get(electionId)
  const known = new Map(definition?.contests.map((c) => [c.id, c]) ?? [])
  const unknown = body.contestIds.flatMap((cid, i) => {
    const contest = known.get(cid)
    if (!contest) return [{ path: `contestIds.${i}`, message: `no contest ${cid}` }]
    // BRAVO tests pairwise margins of a plurality count; an instant runoff's outcome is not one.
    if (contest.rcv)
      return [{ path: `contestIds.${i}`, message: `contest ${cid} is ranked-choice: these audits do not audit instant-runoff outcomes` }]
    return []
  })
  if (unknown.length > 0) throw new AppError('invalid_input', unknown.map((u) => `${u.path}: ${u.message}`).join('; '), unknown)
  if (body.method === 'ballot-comparison') {
    // A comparison audit finds each drawn record's paper by its imprint: every ballot needs one of its own.
    const box = await imprintCoverage(sql, electionId)
    if (box.imprinted < box.ballots || box.distinct < box.imprinted)
      throw new AppError(
        'conflict',
        `method: election ${electionId} has ${box.ballots - box.imprinted} ballots without an imprint and ${box.imprinted - box.distinct} repeated imprints: a comparison audit cannot find their papers (audit it by ballot polling)`,
      )
  }
  const id = `a-${randomUUID().slice(0, 13)}`
  try {
    await createAudit(sql, { id, electionId, ...body, commitment: stored.commitment })
  } catch (err) {
    // One running audit per election (audits_one_running_per_election): they share the worker.
    if ((err as { code?: string }).code === '23505')
      throw new AppError('conflict', `election ${electionId} has an audit running: wait for it to finish`)
    throw err
  }
  const row = await readAudit(sql, id)
  if (!row) throw new Error(`audit ${id} was not recorded`)
  return row
}
