import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { Counter, Gauge, Histogram } from 'prom-client'
import { AppError } from '../../domain/errors.ts'
import { countCalls } from '../../lib/db/race-calls.ts'
import { bearer, isAdminToken } from './auth.ts'
import type { ApiDeps } from './deps.ts'
import { createConnectionLimiter } from './limits/connection-limiter.ts'
import { rateLimit } from './limits/middleware.ts'
import { createRateLimiter } from './limits/rate-limiter.ts'
import { onError, problem } from './problems.ts'
import { createResultsDocuments } from './results-documents.ts'
import type { ResultsFeed } from './results-feed.ts'
import { auditRoutes } from './routes/audit.ts'
import { auditRunRoutes } from './routes/audits.ts'
import { ballotRoutes } from './routes/ballots.ts'
import { contestRoutes } from './routes/contests.ts'
import { electionRoutes } from './routes/elections.ts'
import { exportRoutes } from './routes/exports.ts'
import { resultsRoutes } from './routes/results.ts'

const PUBLIC = join(import.meta.dirname, 'public')
const page = (name: string) => readFileSync(join(PUBLIC, name), 'utf8')

/** The whole HTTP surface, built from its dependencies. */
export function createApp(deps: ApiDeps, feed: ResultsFeed) {
  const app = new OpenAPIHono()
  const registers = [deps.registry]
  const requests = new Counter({
    name: 'votestream_http_requests_total',
    help: 'HTTP requests',
    labelNames: ['method', 'route', 'status'],
    registers,
  })
  const duration = new Histogram({
    name: 'votestream_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  })

  app.onError(onError(deps.log))
  app.notFound((c) => problem(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`))
  app.use(requestId())
  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'self'"], scriptSrc: ["'self'", "'unsafe-inline'"], styleSrc: ["'self'", "'unsafe-inline'"] },
    }),
  )
  app.use(async (c, next) => {
    const end = duration.startTimer()
    await next()
    const route = c.req.routePath
    end({ method: c.req.method, route })
    requests.inc({ method: c.req.method, route, status: String(c.res.status) })
  })
  const limitOf = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError('payload_too_large', `the body is larger than ${maxSize} bytes`)
      },
    })
  const bodyLimitDefault = limitOf(deps.config.API_BODY_LIMIT_BYTES)
  // An election's definition (150 contests over 5,000 regions) is larger than any other
  // body: it gets its own limit, and only with the admin token (checked again by the route).
  const bodyLimitDefinition = limitOf(deps.config.API_DEFINITION_LIMIT_BYTES)
  const adminToken = Buffer.from(deps.config.API_ADMIN_TOKEN)
  app.use((c, next) =>
    c.req.method === 'POST' && c.req.path === '/elections' && isAdminToken(bearer(c.req.header('authorization')), adminToken)
      ? bodyLimitDefinition(c, next)
      : bodyLimitDefault(c, next),
  )

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'the admin token (API_ADMIN_TOKEN)',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'voter', { type: 'http', scheme: 'bearer', description: 'a voter credential' })
  // Per client address: public reads and casting each have their budget.
  const { limits } = deps
  const reads = rateLimit(
    createRateLimiter({ perSecond: limits.API_READS_PER_SECOND, burst: limits.API_READS_BURST }),
    'reads',
    limits.API_TRUST_PROXY,
  )
  const casts = rateLimit(
    createRateLimiter({ perSecond: limits.API_CASTS_PER_SECOND, burst: limits.API_CASTS_BURST }),
    'ballots',
    limits.API_TRUST_PROXY,
  )
  // HEAD runs the GET handler (the body is dropped, not the work): it counts as a read.
  app.use('/elections/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? reads(c, next) : next()))
  app.use('/live/*', reads)
  app.post('/elections/:id/ballots', casts)
  const streams = {
    connections: createConnectionLimiter({ total: limits.API_SSE_MAX_CONNECTIONS, perClient: limits.API_SSE_MAX_PER_CLIENT }),
    stalledClientMs: limits.API_SSE_STALLED_CLIENT_MS,
    // Well inside the idle timeout, so a stream that is being read is never cut.
    keepAliveMs: Math.floor((limits.API_IDLE_TIMEOUT_SECONDS * 1000) / 3),
  }

  app.route('/elections', electionRoutes(deps))
  // One document per election and version, shared by every reader of this process.
  const documents = createResultsDocuments(deps.readSql, {
    primary: deps.sql,
    onError: (err) => deps.log.warn({ err }, 'results document refresh failed; the previous one is served'),
  })
  app.route('/elections', resultsRoutes(deps, feed, streams, documents))
  app.route('/elections', ballotRoutes(deps))
  app.route('/elections', contestRoutes(deps))
  app.route('/elections', exportRoutes(deps))
  app.route('/elections', auditRoutes(deps))
  app.route('/elections', auditRunRoutes(deps))

  // Built once, on first request (every route is registered by then): it was rebuilt from
  // every route's schemas on each request, work any client could ask for at will.
  let openapi: string | undefined
  app.get('/openapi.json', (c) => {
    openapi ??= JSON.stringify(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'VoteStream API',
          version: '1',
          description:
            'Start, steer and follow elections counted in real time. Control routes need the admin bearer token; results are public.',
        },
      }),
    )
    return c.body(openapi, 200, { 'content-type': 'application/json' })
  })
  const docs = page('docs.html')
  const live = page('live.html')
  const index = page('index.html')
  app.get('/docs', (c) => c.html(docs))
  app.get('/live/:id', (c) => c.html(live))
  app.get('/', (c) => c.html(index))

  app.get('/healthz', async (c) => {
    const checks = await deps.health()
    const ok = Object.values(checks).every(Boolean)
    return c.json({ status: ok ? 'ok' : 'degraded', checks }, ok ? 200 : 503)
  })
  return app
}

/**
 * /metrics, served apart from the public API (main.ts binds it to API_METRICS_HOST, the
 * loopback by default): request counts by route are nobody else's business.
 */
export function createMetricsApp(registry: ApiDeps['registry'], sql?: ApiDeps['sql']) {
  if (sql) {
    // A retracted call is a bug made visible: alert on any increase of this gauge.
    new Gauge({
      name: 'votestream_race_calls',
      help: 'Race calls by status (standing, retracted), read from the database at each scrape',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const calls = await countCalls(sql)
        this.set({ status: 'standing' }, calls.standing)
        this.set({ status: 'retracted' }, calls.retracted)
      },
    })
  }
  const app = new OpenAPIHono()
  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }))
  return app
}
