import { Registry } from 'prom-client'
import { configOrExit, parseConfig } from '../../lib/config.ts'
import { electionsBelowMinCell } from '../../lib/db/elections.ts'
import { migrate } from '../../lib/db/migrate.ts'
import { createSql } from '../../lib/db/sql.ts'
import { currentWalLsn, replayedUpTo } from '../../lib/db/standby.ts'
import { createKafka } from '../../lib/kafka.ts'
import { createLogger } from '../../lib/log.ts'
import { onShutdown, runMain } from '../../lib/process.ts'
import { connectTemporal, electionControl } from '../../lib/temporal.ts'
import { auditControl } from '../../lib/temporal-audits.ts'
import { waitUntil } from '../../lib/wait.ts'
import { createApp, createMetricsApp } from './app.ts'
import { apiSessionSettings, LOCAL_ADMIN_TOKEN, loadApiConfig } from './config.ts'
import { createHealthCheck } from './health.ts'
import { limitsConfig } from './limits/config.ts'
import { createOutboxRelay } from './outbox-relay.ts'
import { createResultsFeed } from './results-feed.ts'

/** The control and results API (Bun + Hono). */
const bootLog = createLogger('api')

runMain(bootLog, async () => {
  const config = configOrExit(loadApiConfig)
  const limits = configOrExit(() => parseConfig(limitsConfig))
  const log = createLogger('api', config.LOG_LEVEL)
  if (config.API_ADMIN_TOKEN === LOCAL_ADMIN_TOKEN)
    log.warn('using the local default admin token; set API_ADMIN_TOKEN anywhere but a laptop')
  const sql = createSql(config.DATABASE_URL, {
    max: config.DATABASE_POOL_MAX,
    applicationName: 'votestream-api',
    settings: apiSessionSettings(config),
  })
  const readSql = config.DATABASE_READ_URL
    ? createSql(config.DATABASE_READ_URL, {
        max: config.DATABASE_POOL_MAX,
        applicationName: 'votestream-api-read',
        settings: apiSessionSettings(config),
      })
    : sql
  if (config.DATABASE_READ_URL) log.info({ readFrom: new URL(config.DATABASE_READ_URL).host }, 'public results are read from a standby')
  // On a connection of its own, without the request limits: a migration may rightly wait
  // for locks and run for minutes (the tally does the same).
  const migrator = createSql(config.DATABASE_URL, { max: 1, applicationName: 'votestream-api-migrate' })
  await migrate(migrator)
  await migrator.end({ timeout: 5 })
  // Elections made before each kept its own minimum (0048) carry 10: loud, once, at start.
  const below = await electionsBelowMinCell(sql, config.API_RESULTS_MIN_CELL_BALLOTS)
  if (below.count > 0)
    log.warn(
      { elections: below.count, some: below.ids, floor: config.API_RESULTS_MIN_CELL_BALLOTS },
      "elections hide cells below this deployment's API_RESULTS_MIN_CELL_BALLOTS: raise theirs (docs/deploying.md, the smallest public cell)",
    )
  if (readSql !== sql) {
    // Public reads start once the standby has the schema the migrations just wrote: a column
    // it has not replayed yet would be a failed read, not a late one.
    const lsn = await currentWalLsn(sql)
    if (!(await waitUntil(() => replayedUpTo(readSql, lsn).catch(() => false), 30_000, 200)))
      log.warn({ lsn }, 'the standby has not replayed the migrations after 30 s; public reads may fail until it does')
  }
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-api`, log })
  const producer = kafka.producer()
  const admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
  const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE })
  const registry = new Registry()
  const feed = createResultsFeed(readSql, log)

  const health = createHealthCheck({ sql, readSql, admin, temporal: temporal.client })
  const outbox = createOutboxRelay({ sql, producer, log })

  const app = createApp(
    {
      sql,
      readSql,
      outbox,
      limits,
      elections: electionControl(temporal.client, config.TEMPORAL_TASK_QUEUE),
      audits: auditControl(temporal.client, config.TEMPORAL_TASK_QUEUE),
      health,
      config,
      log,
      registry,
    },
    feed,
  )
  // Silent connections are closed; result streams send keep-alives well within the timeout.
  const server = Bun.serve({
    port: config.API_PORT,
    hostname: config.API_HOST,
    fetch: app.fetch,
    idleTimeout: limits.API_IDLE_TIMEOUT_SECONDS,
  })
  const metrics =
    config.API_METRICS_PORT > 0
      ? Bun.serve({ port: config.API_METRICS_PORT, hostname: config.API_METRICS_HOST, fetch: createMetricsApp(registry, sql).fetch })
      : undefined
  log.info({ url: config.API_PUBLIC_URL, docs: `${config.API_PUBLIC_URL}/docs` }, 'api listening')

  onShutdown(log, async () => {
    await server.stop(true)
    await metrics?.stop(true)
    feed.close()
    await outbox.close()
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), temporal.close()])
    await sql.end({ timeout: 5 })
    if (readSql !== sql) await readSql.end({ timeout: 5 })
  })
})
