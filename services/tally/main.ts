import { hostname } from 'node:os'
import { Hono } from 'hono'
import { configOrExit } from '../../lib/config.ts'
import { migrate } from '../../lib/db/migrate.ts'
import { createSql } from '../../lib/db/sql.ts'
import { createKafka } from '../../lib/kafka.ts'
import { createLogger } from '../../lib/log.ts'
import { onShutdown, runMain } from '../../lib/process.ts'
import { startBallotBoxMixer } from './ballot-box-mixer.ts'
import { countingSessionSettings, loadTallyConfig } from './config.ts'
import { createTallyConsumer } from './consumer.ts'
import { createTallyMetrics } from './metrics.ts'
import { holdTallyPresence } from './presence.ts'
import { startRawRetention } from './raw-retention.ts'
import { createResultsPublisher } from './results-publisher.ts'

/** The tally service: consumes `votes`, counts into PostgreSQL, publishes `results`. */
const bootLog = createLogger('tally')

runMain(bootLog, async () => {
  const config = configOrExit(loadTallyConfig)
  const log = createLogger('tally', config.LOG_LEVEL)
  // Migrations on a connection of their own, without the counting limits: a migration may
  // rightly wait for locks and run for minutes.
  const migrator = createSql(config.DATABASE_URL, { max: 1, applicationName: 'votestream-tally-migrate' })
  await migrate(migrator)
  await migrator.end({ timeout: 5 })
  // Held before anything is counted: a migration that needs the tallies stopped sees this one.
  const presence = await holdTallyPresence(config.DATABASE_URL, log)
  const sql = createSql(config.DATABASE_URL, {
    max: config.DATABASE_POOL_MAX,
    // The pid names the instance in pg_stat_activity and pg_locks: which one holds a lock.
    applicationName: `votestream-tally ${process.pid}`,
    settings: countingSessionSettings(config),
  })

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-tally`, log })
  // Not idempotent on purpose: rejections are keyed by the position of the message they
  // answer and snapshots carry a version, so a duplicate is harmless, and kafkajs's
  // idempotent mode wants unbounded retries.
  const producer = kafka.producer()
  await producer.connect()
  const admin = kafka.admin()
  await admin.connect()
  const metrics = createTallyMetrics()
  const results = createResultsPublisher({
    sql,
    producer,
    log,
    intervalMs: config.TALLY_SNAPSHOT_INTERVAL_MS,
    instance: `${hostname()}:${process.pid}`,
  })
  // Before the consumer: its counts pace the mixer.
  const mixer = startBallotBoxMixer({
    sql,
    log,
    everySeconds: config.TALLY_BALLOT_BOX_MIX_SECONDS,
    everyBallots: config.TALLY_BALLOT_BOX_MIX_BALLOTS,
  })
  const consumer = createTallyConsumer({
    kafka,
    admin,
    producer,
    sql,
    log,
    metrics,
    config,
    onCounted: (ids, boxed) => {
      results.changed(ids)
      mixer.boxed(boxed)
    },
    onFatal: (err) => {
      log.fatal({ err }, 'the Kafka consumer stopped for good; exiting so a supervisor restarts this process')
      process.exit(1)
    },
  })

  const retention = startRawRetention({ sql, log, keepDays: config.TALLY_REJECTED_RAW_KEEP_DAYS })

  const app = new Hono()
  app.get('/healthz', (c) => {
    const problem = consumer.problem()
    return problem === null ? c.json({ status: 'ok' }) : c.json({ status: problem }, 503)
  })
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }))
  const server = Bun.serve({ port: config.TALLY_METRICS_PORT, hostname: config.TALLY_METRICS_HOST, fetch: app.fetch })

  onShutdown(log, async () => {
    await consumer.stop()
    log.debug('consumer left the group')
    await results.close()
    await retention.stop()
    await mixer.stop()
    await producer.disconnect()
    await admin.disconnect()
    log.debug('producer and admin disconnected')
    await sql.end({ timeout: 5 })
    await presence.stop()
    server.stop(true)
  })

  await consumer.start()
  log.info({ group: config.TALLY_GROUP_ID, metrics: `http://127.0.0.1:${server.port}/metrics` }, 'tally service counting')
})
