import { randomUUID } from 'node:crypto'
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { handCountIssues, paperEntryIssues } from '../../../domain/audit/board.ts'
import {
  auditReportSchema,
  auditRequestSchema,
  auditRoundSchema,
  handCountSchema,
  paperEntrySchema,
  publicRound,
} from '../../../domain/audit/report.ts'
import { AppError } from '../../../domain/errors.ts'
import { imprintCoverage, readAuditCommitment } from '../../../lib/db/audit-files.ts'
import {
  type AuditRow,
  countAwaitedPapers,
  createAudit,
  dropAuditRequest,
  enterPaper,
  listAudits,
  readAudit,
  readAuditBallotsPage,
  readAuditRounds,
  storeHandCount,
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
const PaperEntry = paperEntrySchema.openapi('AuditPaperEntry')
const PaperEntered = z.object({ auditId: z.string(), draw: z.number(), round: z.number(), filled: z.number() }).openapi('AuditPaperEntered')
const HandCountEntry = z.strictObject({ contests: handCountSchema }).openapi('AuditHandCount')
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
        /** read, pending (an audit board has not entered it yet) or missing (not found). */
        paperState: z.enum(['read', 'pending', 'missing']),
        /** Comparison audits: the cast vote record at the drawn place, in the audited contests (null: none with an imprint). */
        cvr: z.record(z.string(), z.array(z.string())).nullable().optional(),
        /** Comparison audits: the imprint on the paper to find (the record's BallotAuditId). */
        imprint: z.string().nullable().optional(),
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
      papers: row.papers,
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
        summary: 'Start a risk-limiting audit (BRAVO ballot polling or super-simple ballot comparison) of certified contests (admin)',
        description:
          'The seed is the dice rolls, typed in after the audit files were committed (GET /elections/{id}/audit). The papers are read by the simulator (a simulated election’s generator) or by an audit board that enters each drawn paper (PUT …/papers/{draw}) and, if the audit needs one, its full hand count (PUT …/hand-count). 409 unless the election is certified with committed audit files.',
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
          await deps.audits.start(row.id, row.papers)
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
        const draws = (await readAuditBallotsPage(sql, auditId, after, limit)).map((d) => ({ ...d, paperState: d.paperState ?? 'read' }))
        const last = draws[draws.length - 1]
        const next =
          draws.length === limit && last
            ? `/elections/${encodeURIComponent(id)}/audits/${encodeURIComponent(auditId)}/sample?after=${last.draw}&limit=${limit}`
            : null
        return c.json({ auditId, rounds: await readAuditRounds(sql, auditId), draws, next }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/{id}/audits/{auditId}/papers/{draw}',
        summary: "An audit board's reading of a drawn paper (admin)",
        description:
          'Per audited contest, the lines marked on the paper (selection ids, `write-in`); a contest left out is blank. `{"missing": true}` when the paper is not where the manifest puts it (the worst case for the outcome). Fills every draw of the same place in the round; may be corrected until the round is decided (409 after).',
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: {
          params: AuditParams.extend({
            draw: z.coerce
              .number()
              .int()
              .min(1)
              .max(2_147_483_647)
              .openapi({ param: { name: 'draw', in: 'path' } }),
          }),
          body: { content: { 'application/json': { schema: PaperEntry } }, required: true },
        },
        responses: { 200: json(PaperEntered, 'entered'), ...problemResponses(400, 401, 404, 409) },
      }),
      async (c) => {
        const { id, auditId, draw } = c.req.valid('param')
        const entry = c.req.valid('json')
        const audit = await auditOf(id, auditId)
        const paper = entry.missing ? null : (entry.marks ?? {})
        if (paper) {
          const definition = (await loadDefinitions(sql, [id])).get(id)
          const contests = (definition?.contests ?? []).filter((k) => audit.contestIds.includes(k.id))
          const issues = paperEntryIssues(contests, paper)
          if (issues.length > 0) throw new AppError('invalid_input', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues)
        }
        const entered = await enterPaper(sql, auditId, draw, paper, entry.imprint ?? null)
        if ('refused' in entered)
          throw new AppError(
            entered.kind,
            entered.refused,
            entered.kind === 'invalid_input' ? [{ path: 'imprint', message: entered.refused }] : undefined,
          )
        // The workflow waits for a whole round: nudged when its last paper is in (and it looks every five minutes anyway).
        if ((await countAwaitedPapers(sql, auditId, entered.round)) === 0) await deps.audits.nudge(auditId)
        return c.json({ auditId, draw, round: entered.round, filled: entered.filled }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/{id}/audits/{auditId}/cancel',
        summary: 'Stop a running audit: it ends as failed, and the election can be audited again (admin)',
        description:
          'A board’s audit waits for its papers as long as it takes; one started by mistake, or abandoned, is stopped here. 409 when the audit is not running or its workflow is gone.',
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: { params: AuditParams },
        responses: { 202: json(AuditReport, 'stopping'), ...problemResponses(400, 401, 404, 409, 503) },
      }),
      async (c) => {
        const { id, auditId } = c.req.valid('param')
        const audit = await auditOf(id, auditId)
        if (audit.status !== 'running') throw new AppError('conflict', `audit ${auditId} is ${audit.status}`)
        let asked: boolean
        try {
          asked = await deps.audits.cancel(auditId)
        } catch (err) {
          throw new AppError('unavailable', 'the workflow service did not take the cancellation: try again', undefined, { cause: err })
        }
        if (!asked) throw new AppError('conflict', `audit ${auditId} has no running workflow to stop`)
        return c.json(await present(audit), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/{id}/audits/{auditId}/hand-count',
        summary: "An audit board's full hand count of the audited contests (admin)",
        description:
          'When the audit needs a full hand count (the sample reached half the ballots, or a contest has no margin): votes per audited contest and line. Replaced until the audit concludes from it.',
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: { params: AuditParams, body: { content: { 'application/json': { schema: HandCountEntry } }, required: true } },
        responses: { 200: json(z.object({ auditId: z.string() }), 'entered'), ...problemResponses(400, 401, 404, 409) },
      }),
      async (c) => {
        const { id, auditId } = c.req.valid('param')
        const { contests: counts } = c.req.valid('json')
        const audit = await auditOf(id, auditId)
        if (audit.papers !== 'board')
          throw new AppError('conflict', `audit ${auditId} reads its papers from the simulator: it counts them itself`)
        const definition = (await loadDefinitions(sql, [id])).get(id)
        const contests = (definition?.contests ?? []).filter((k) => audit.contestIds.includes(k.id))
        const stored = await readAuditCommitment(sql, id)
        const issues = handCountIssues(contests, counts, stored?.ballots ?? 0)
        if (issues.length > 0) throw new AppError('invalid_input', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues)
        if (!(await storeHandCount(sql, auditId, counts)))
          throw new AppError('conflict', `audit ${auditId} is ${audit.status} and asks for no full hand count now`)
        await deps.audits.nudge(auditId)
        return c.json({ auditId }, 200)
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
  // A simulated election's papers are its generator's unless an audit board is to read them; any other's are the board's.
  const papers = body.papers ?? (election.simulated ? 'simulator' : 'board')
  if (papers === 'simulator' && !election.simulated)
    throw new AppError('invalid_input', `papers: election ${electionId} was not simulated: an audit board reads its papers ("board")`, [
      { path: 'papers', message: 'no simulator behind this election' },
    ])
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
    await createAudit(sql, { id, electionId, ...body, papers, commitment: stored.commitment })
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
