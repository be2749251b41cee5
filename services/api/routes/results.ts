import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { certificationCheckSchema } from '../../../domain/certification.ts'
import { AppError } from '../../../domain/errors.ts'
import { reconciliationResponseSchema } from '../../../domain/reconciliation.ts'
import { simulationComparisonSchema, trendSchema } from '../../../domain/results.ts'
import { latestCertificationCheck } from '../../../lib/db/certification.ts'
import { getElection } from '../../../lib/db/elections.ts'
import { latestReconciliation, simulationComparison } from '../../../lib/db/reconciliation.ts'
import { changedSinceAt, loadRegion, loadRegions, loadTrend } from '../../../lib/db/results.ts'
import { compareContestTruth } from '../../../lib/db/simulation.ts'
import type { ApiDeps } from '../deps.ts'
import { clientAddress } from '../limits/client-address.ts'
import type { ResultsDocuments } from '../results-documents.ts'
import type { ResultsFeed } from '../results-feed.ts'
import { type StreamLimits, streamResults } from '../results-stream.ts'
import { ElectionIdParam, json, problemResponses, Snapshot } from '../schemas.ts'
import { validationHook } from '../validation.ts'

/** Whether an If-None-Match header (one tag, a list, or `*`; weak tags compare equal) names `etag`. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag === '*' || tag.replace(/^W\//, '') === etag
  })
}

/** A GET of one election's sub-resource: the id validated, 400 and 404 as problems. */
function electionRead<S extends z.ZodType>(path: `/{id}/${string}`, summary: string, schema: S, description: string) {
  return createRoute({
    method: 'get',
    path,
    summary,
    request: { params: ElectionIdParam },
    responses: { 200: json(schema, description), ...problemResponses(400, 404) },
  })
}

/** Public results: snapshots (with versions and conditional requests), the live stream, trends, reconciliation. */
export function resultsRoutes(deps: ApiDeps, feed: ResultsFeed, limits: StreamLimits, documents: ResultsDocuments) {
  // Public reads: the standby where there is one (ApiDeps.readSql).
  const sql = deps.readSql
  const app = new OpenAPIHono({ defaultHook: validationHook })

  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/results',
        summary: 'Votes per candidate, turnout per region, share counted, rejections, race call and status',
        description:
          'An election defined by contests lists each contest (`contests`) with its totals over the election and its outcome; a contest with fewer ballots than the minimum cell is suppressed, and results by region are at /elections/{id}/contests/{contestId}. ' +
          'Answers 304 to `If-None-Match` with the current ETag. With `since=N` the snapshot also says which candidates and regions changed after version N.',
        request: { params: ElectionIdParam, query: z.object({ since: z.coerce.number().int().min(0).optional() }) },
        responses: { 200: json(Snapshot, 'the current results'), 304: { description: 'unchanged' }, ...problemResponses(400, 404) },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        const { since } = c.req.valid('query')
        c.header('Cache-Control', 'no-cache')
        if (since === undefined) {
          // The document every reader shares: built and serialised once per version.
          const doc = await documents.current(id)
          c.header('ETag', doc.etag)
          if (matchesEtag(c.req.header('if-none-match'), doc.etag)) return c.body(null, 304)
          return c.body(doc.body, 200, { 'content-type': 'application/json' })
        }
        // Every follower is answered from the shared document, never from a build of its own
        // (a build per poll is what held one client to 35 reads/s). One at the document's
        // version (the common poll) hears that nothing changed; one behind it also gets what
        // changed since its version, read now (so it may name a little more than the document
        // shows, never less); one ahead of it — its version came from another instance or a
        // standby further on, or is made up — gets the document as it stands, older than its
        // own, which a follower drops (versions only grow).
        const doc = await documents.current(id)
        c.header('ETag', doc.etag)
        if (matchesEtag(c.req.header('if-none-match'), doc.etag)) return c.body(null, 304)
        let changes = { since, candidates: [] as string[], regions: [] as string[] }
        if (since < doc.version) {
          const seen = await changedSinceAt(sql, id, since)
          // A read that met a replica behind the document would name too little: the primary then answers.
          changes = seen.version >= doc.version ? seen.changes : (await changedSinceAt(deps.sql, id, since)).changes
        }
        return c.json({ ...doc.value, changedSince: changes }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/results/stream',
        summary: 'Server-sent events: a `results` event with the full snapshot within a second of every change',
        request: { params: ElectionIdParam },
        responses: {
          200: { description: 'text/event-stream of results snapshots', content: { 'text/event-stream': { schema: z.string() } } },
          ...problemResponses(404),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        // HEAD runs this handler and drops the body unread: a stream would hold a slot until
        // it counted as stalled. The headers are the answer.
        if (c.req.method === 'HEAD') return c.body(null, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        return streamResults(c, {
          electionId: id,
          client: clientAddress(c, deps.limits.API_TRUST_PROXY),
          first: async () => (await documents.current(id, { fresh: true })).value,
          feed,
          limits,
          log: deps.log,
        })
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/regions',
        summary: 'The regions with their leaders, margins and share counted, a page at a time (optionally of one state)',
        request: {
          params: ElectionIdParam,
          query: z.object({
            state: z.string().min(1).max(200).optional(),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
            limit: z.coerce.number().int().min(1).max(1000).default(200),
          }),
        },
        responses: {
          200: json(
            z.object({
              electionId: z.string(),
              version: z.number(),
              total: z.number(),
              offset: z.number(),
              regions: Snapshot.shape.regions,
            }),
            'a page of regions',
          ),
          ...problemResponses(400, 404),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        return c.json(await loadRegions(sql, id, c.req.valid('query')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/regions/{region}',
        summary: 'One region: votes per candidate and per channel, its leader, turnout, share counted and race call',
        request: {
          params: ElectionIdParam.extend({ region: ElectionIdParam.shape.id.openapi({ param: { name: 'region', in: 'path' } }) }),
        },
        responses: {
          200: json(
            z.object({
              electionId: z.string(),
              version: z.number(),
              region: Snapshot.shape.regions.element,
              candidates: z.array(z.object({ id: z.string(), name: z.string(), votes: z.number() })),
              channels: z.array(z.object({ channel: z.string(), ballots: z.number() })),
            }),
            'the region',
          ),
          ...problemResponses(400, 404),
        },
      }),
      async (c) => {
        const { id, region } = c.req.valid('param')
        return c.json(await loadRegion(sql, id, region), 200)
      },
    )
    .openapi(
      electionRead(
        '/{id}/trend',
        'Votes per candidate per minute of casting, and the reconciliation snapshots over time',
        trendSchema,
        'trend',
      ),
      async (c) => {
        const { id } = c.req.valid('param')
        await getElection(sql, id)
        const { minutes, snapshots } = await loadTrend(sql, id)
        return c.json(
          {
            electionId: id,
            minutes: minutes.map((m) => ({ ...m, minute: m.minute.toISOString() })),
            snapshots: snapshots.map((s) => ({ ...s, takenAt: s.takenAt.toISOString() })),
          },
          200,
        )
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/reconciliation',
        summary: 'The latest reconciliation report: recount from the raw ballots versus the streaming tallies',
        request: { params: ElectionIdParam },
        responses: {
          200: json(reconciliationResponseSchema, 'the latest report'),
          ...problemResponses(400, 404),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        await getElection(sql, id)
        const { latest, counts } = await latestReconciliation(sql, id)
        if (!latest) throw new AppError('not_found', `no reconciliation has run for ${id} yet`)
        return c.json(
          {
            electionId: id,
            ...latest,
            ranAt: latest.ranAt.toISOString(),
            reports: counts?.reports ?? 0,
            repairs: counts?.repairs ?? 0,
            certification: await latestCertificationCheck(sql, id),
          },
          200,
        )
      },
    )
    .openapi(
      electionRead(
        '/{id}/certification',
        'The certification checklist as last run: every item with its verdict and evidence (404 before the polls close)',
        certificationCheckSchema,
        'the latest checklist',
      ),
      async (c) => {
        const { id } = c.req.valid('param')
        await getElection(sql, id)
        const check = await latestCertificationCheck(sql, id)
        if (!check) throw new AppError('not_found', `the certification checklist has not run for ${id} yet`)
        return c.json(check, 200)
      },
    )
    .openapi(
      electionRead(
        '/{id}/simulation',
        "A simulated election's ground truth (stored at certification) next to what was counted",
        simulationComparisonSchema,
        'truth and count',
      ),
      async (c) => {
        const { id } = c.req.valid('param')
        const e = await getElection(sql, id)
        if (!e.simulated) throw new AppError('not_found', `${id} is not a simulated election`)
        const { candidates, rejections, cells } = await simulationComparison(sql, id)
        const truth = await compareContestTruth(sql, id)
        // An election with contests: every contest × line × region × channel against the generator's.
        const contests = truth.compared > 0 ? { compared: truth.compared, mismatched: truth.differing } : null
        const certified = e.status === 'certified'
        const matches =
          certified &&
          candidates.every((x) => x.generated === x.counted) &&
          rejections.every((r) => r.injected === r.rejected) &&
          cells.mismatched === 0 &&
          (contests?.mismatched ?? 0) === 0
        return c.json({ electionId: id, matches, candidates, rejections, cells, contests }, 200)
      },
    )
}
