import { randomBytes, randomUUID } from 'node:crypto'
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { resolveDefinition } from '../../../domain/contests.ts'
import { AppError } from '../../../domain/errors.ts'
import { defaultPlan } from '../../../domain/simulation.ts'
import { latestCertificationCheck, recordAdjudication } from '../../../lib/db/certification.ts'
import { saveDefinition } from '../../../lib/db/contests.ts'
import { createElection, createSimulatedElection, type ElectionRow, getElection, listElections } from '../../../lib/db/elections.ts'
import { requireAdmin } from '../auth.ts'
import type { ApiDeps } from '../deps.ts'
import { Adjudication, CreateElection, Election, ElectionIdParam, json, problemResponses, SetRate } from '../schemas.ts'
import { validationHook } from '../validation.ts'

const admin = [{ bearer: [] }]

/** Creating, listing and steering elections; steering goes through the election's workflow. */
export function electionRoutes(deps: ApiDeps) {
  const { sql, elections, config } = deps
  const app = new OpenAPIHono({ defaultHook: validationHook })
  // Per route, not per path: these sub-apps share the /elections prefix with public routes.
  const adminOnly = requireAdmin(config.API_ADMIN_TOKEN)

  /** `withProgress`: ask the workflow (one query each; a list of many must not wait on them). */
  const present = async (e: ElectionRow, withProgress = true) => ({
    id: e.id,
    name: e.name,
    status: e.status,
    simulated: e.simulated,
    test: e.test,
    createdAt: e.createdAt.toISOString(),
    openedAt: e.openedAt?.toISOString() ?? null,
    closedAt: e.closedAt?.toISOString() ?? null,
    certifiedAt: e.certifiedAt?.toISOString() ?? null,
    minCellBallots: e.minCellBallots,
    progress: !withProgress || e.status === 'certified' || e.status === 'draft' ? null : await elections.progress(e.id),
    links: {
      results: `${config.API_PUBLIC_URL}/elections/${e.id}/results`,
      stream: `${config.API_PUBLIC_URL}/elections/${e.id}/results/stream`,
      live: `${config.API_PUBLIC_URL}/live/${e.id}`,
      workflow: `${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/election-${e.id}`,
    },
  })

  /** Only an open election can be steered: closing, closed and certified ones are past it. */
  const mustBeOpen = async (id: string) => {
    const e = await getElection(sql, id)
    if (e.status !== 'open') throw new AppError('conflict', `election ${id} is ${e.status}; only an open election can be steered`)
    return e
  }

  const startWorkflow = async (e: ElectionRow, reconcileEverySeconds: number) => {
    const sim = e.settings.simulation
    await elections.start({
      electionId: e.id,
      reconcileEverySeconds,
      simulation: e.simulated ? { ratePerSecond: sim?.ratePerSecond ?? 2000 } : undefined,
    })
  }

  return app
    .openapi(
      createRoute({
        method: 'post',
        path: '/',
        summary: 'Create an election (simulated or live) and, unless start is false, open it',
        security: admin,
        middleware: [adminOnly] as const,
        request: { body: { content: { 'application/json': { schema: CreateElection } }, required: true } },
        responses: { 201: json(Election, 'created'), ...problemResponses(400, 401, 409, 413) },
      }),
      async (c) => {
        const body = c.req.valid('json')
        const id = body.id ?? `e-${randomUUID().slice(0, 8)}`
        // The deployment's floor: an election may hide more, never less (suppression is not the admin's to switch off).
        const minCellBallots = body.minCellBallots ?? config.API_RESULTS_MIN_CELL_BALLOTS
        if (minCellBallots < config.API_RESULTS_MIN_CELL_BALLOTS) {
          const message = `at least ${config.API_RESULTS_MIN_CELL_BALLOTS}, this deployment's smallest public cell (API_RESULTS_MIN_CELL_BALLOTS)`
          throw new AppError('invalid_input', `minCellBallots: ${message}`, [{ path: 'minCellBallots', message }])
        }
        if (body.simulation) {
          const { candidates, regions, ratePerSecond, ...settings } = body.simulation
          // A long ballot's papers carry imprints under a key of this election's own, drawn now (domain/election-settings.ts).
          const imprintKey = settings.contests ? randomBytes(16).toString('hex') : undefined
          const plan = defaultPlan(id, { ...settings, ...(imprintKey ? { imprintKey } : {}) }, { candidates, regions })
          await sql.begin((tx) => createSimulatedElection(tx, plan, body.name, { ratePerSecond }, { minCellBallots }))
        } else {
          const regions = body.regions ?? []
          const resolved = body.definition ? resolveDefinition(body.definition, regions) : null
          if (resolved && !resolved.ok) {
            const errors = resolved.issues.map((i) => ({ path: ['definition', ...i.path].join('.'), message: i.message }))
            throw new AppError('invalid_input', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors)
          }
          await sql.begin(async (tx) => {
            await createElection(tx, { id, name: body.name, candidates: body.candidates ?? [], regions, test: body.test, minCellBallots })
            if (body.definition && resolved?.ok) await saveDefinition(tx, id, body.definition.districts, resolved.resolved)
          })
        }
        const created = await getElection(sql, id)
        if (body.start) await startWorkflow(created, body.reconcileEverySeconds)
        return c.json(await present(await getElection(sql, id)), 201)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/',
        summary: "List elections, newest first (without each workflow's progress: GET /elections/{id} has it)",
        responses: { 200: json(z.object({ elections: z.array(Election) }), 'elections') },
      }),
      async (c) => {
        const rows = await listElections(sql)
        return c.json({ elections: await Promise.all(rows.map((e) => present(e, false))) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}',
        summary: "An election's status and, while it runs, its workflow's progress",
        request: { params: ElectionIdParam },
        responses: { 200: json(Election, 'the election'), ...problemResponses(400, 404) },
      }),
      async (c) => c.json(await present(await getElection(sql, c.req.valid('param').id)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/{id}/start',
        summary: 'Open a draft election (starts its workflow)',
        security: admin,
        middleware: [adminOnly] as const,
        request: {
          params: ElectionIdParam,
          query: z.object({ reconcileEverySeconds: z.coerce.number().int().min(1).max(86_400).default(30) }),
        },
        responses: { 202: json(Election, 'started'), ...problemResponses(400, 401, 404, 409) },
      }),
      async (c) => {
        const e = await getElection(sql, c.req.valid('param').id)
        if (e.status !== 'draft') throw new AppError('conflict', `election ${e.id} is ${e.status}, not draft`)
        await startWorkflow(e, c.req.valid('query').reconcileEverySeconds)
        return c.json(await present(await getElection(sql, e.id)), 202)
      },
    )
    .openapi(signalRoute(adminOnly, 'pause', 'Pause ballot production'), async (c) => {
      const { id } = c.req.valid('param')
      await mustBeOpen(id)
      await elections.pause(id)
      return c.json({ electionId: id, requested: 'pause' }, 202)
    })
    .openapi(signalRoute(adminOnly, 'resume', 'Resume ballot production'), async (c) => {
      const { id } = c.req.valid('param')
      await mustBeOpen(id)
      await elections.resume(id)
      return c.json({ electionId: id, requested: 'resume' }, 202)
    })
    .openapi(signalRoute(adminOnly, 'stop', 'Close the polls: count what was cast, reconcile, certify'), async (c) => {
      const { id } = c.req.valid('param')
      // A stop may come while the workflow is still opening the election (writing a large
      // roll): the workflow keeps it and closes the polls as soon as they are open.
      const e = await getElection(sql, id)
      if (e.status !== 'open' && e.status !== 'draft') {
        throw new AppError('conflict', `election ${id} is ${e.status}; its polls are already closed`)
      }
      await elections.stop(id)
      return c.json({ electionId: id, requested: 'stop' }, 202)
    })
    .openapi(
      signalRoute(adminOnly, 'certification/check', 'Run the certification checklist again, after fixing what made an item fail'),
      async (c) => {
        const { id } = c.req.valid('param')
        const e = await getElection(sql, id)
        if (e.status !== 'closed')
          throw new AppError('conflict', `election ${id} is ${e.status}: only a closed election awaits certification`)
        await elections.recheckCertification(id)
        return c.json({ electionId: id, requested: 'certification check' }, 202)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/{id}/certification/adjudications',
        summary: "Record a board's adjudication of a failing certification item it may decide (then ask for the check again)",
        description:
          "Only items the count is exact about but the system cannot decide (one_partition_per_voter: which of a voter's two ballots counted, when they lay on two partitions). Only for a closed election whose latest check failed that item. The reason is public, in the certification check: never a voter's id. Added, never changed.",
        security: admin,
        middleware: [adminOnly] as const,
        request: { params: ElectionIdParam, body: { content: { 'application/json': { schema: Adjudication } }, required: true } },
        responses: {
          201: json(z.object({ electionId: z.string(), item: z.string(), adjudicatedAt: z.string() }), 'recorded'),
          ...problemResponses(400, 401, 404, 409),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        const body = c.req.valid('json')
        const e = await getElection(sql, id)
        if (e.status !== 'closed')
          throw new AppError('conflict', `election ${id} is ${e.status}: only a closed election awaits certification`)
        const latest = await latestCertificationCheck(sql, id)
        if (!latest?.items.some((i) => i.id === body.item && !i.passed))
          throw new AppError(
            'conflict',
            `the latest certification check of election ${id} did not fail ${body.item}: nothing to adjudicate`,
          )
        const { adjudicatedAt } = await recordAdjudication(sql, id, body)
        return c.json({ electionId: id, item: body.item, adjudicatedAt }, 201)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/{id}/rate',
        summary: "Change a simulation's ballots per second",
        security: admin,
        middleware: [adminOnly] as const,
        request: { params: ElectionIdParam, body: { content: { 'application/json': { schema: SetRate } }, required: true } },
        responses: {
          200: json(z.object({ electionId: z.string(), previous: z.number(), ratePerSecond: z.number() }), 'changed'),
          ...problemResponses(400, 401, 404, 409),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        const { ratePerSecond } = c.req.valid('json')
        await mustBeOpen(id)
        const previous = await elections.setRate(id, ratePerSecond)
        return c.json({ electionId: id, previous, ratePerSecond }, 200)
      },
    )
}

function signalRoute(adminOnly: MiddlewareHandler, name: string, summary: string) {
  return createRoute({
    method: 'post',
    path: `/{id}/${name}`,
    summary,
    security: admin,
    middleware: [adminOnly] as const,
    request: { params: ElectionIdParam },
    responses: {
      202: json(z.object({ electionId: z.string(), requested: z.string() }), 'signalled'),
      ...problemResponses(400, 401, 404, 409),
    },
  })
}
