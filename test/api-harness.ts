import { randomUUID } from 'node:crypto'
import { Registry } from 'prom-client'
import { parseConfig } from '../lib/config.ts'
import { createSql } from '../lib/db/sql.ts'
import { createKafka } from '../lib/kafka.ts'
import { createLogger } from '../lib/log.ts'
import { connectTemporal, electionControl } from '../lib/temporal.ts'
import { auditControl } from '../lib/temporal-audits.ts'
import { createApp, createMetricsApp } from '../services/api/app.ts'
import { apiSessionSettings, LOCAL_ADMIN_TOKEN, loadApiConfig } from '../services/api/config.ts'
import { createHealthCheck } from '../services/api/health.ts'
import { limitsConfig } from '../services/api/limits/config.ts'
import { createOutboxRelay } from '../services/api/outbox-relay.ts'
import { createResultsFeed } from '../services/api/results-feed.ts'
import { loadWorkerConfig } from '../services/worker/config.ts'
import { createWorker } from '../services/worker/create-worker.ts'

/**
 * The API app in this process on real Postgres, Kafka and Temporal, with a real worker
 * on its own task queue (the tally runs as its own process, started by the test).
 */
export async function startApiHarness() {
  const taskQueue = `api-${randomUUID().slice(0, 8)}`
  const env = { ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn' }
  const config = loadApiConfig(env)
  const log = createLogger('api-test', 'warn')
  const sql = createSql(config.DATABASE_URL, { max: 5, settings: apiSessionSettings(config) })
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'api-test' })
  const producer = kafka.producer()
  const admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
  const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE })
  const feed = createResultsFeed(sql, log)
  const outbox = createOutboxRelay({ sql, producer, log })
  const registry = new Registry()
  const app = createApp(
    {
      sql,
      // The in-process harness reads from the primary; test/read-standby.test.ts runs the API process against a standby.
      readSql: sql,
      outbox,
      // Tests run many requests from one address; the limits have tests of their own.
      limits: parseConfig(limitsConfig, {
        API_READS_PER_SECOND: '100000',
        API_READS_BURST: '100000',
        API_CASTS_PER_SECOND: '100000',
        API_CASTS_BURST: '100000',
      }),
      elections: electionControl(temporal.client, taskQueue),
      audits: auditControl(temporal.client, taskQueue),
      health: createHealthCheck({ sql, admin, temporal: temporal.client }),
      config,
      log,
      registry,
    },
    feed,
  )
  const workerSql = createSql(config.DATABASE_URL, { max: 5 })
  const { worker, close } = await createWorker(loadWorkerConfig(env), workerSql)
  const running = worker.run()
  const adminHeaders = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, 'content-type': 'application/json' }
  return {
    app,
    metrics: createMetricsApp(registry),
    sql,
    admin: adminHeaders,
    request: (path: string, init: RequestInit = {}) => app.request(path, init),
    async close() {
      worker.shutdown()
      await running
      await close()
      feed.close()
      await outbox.close()
      await Promise.all([producer.disconnect(), admin.disconnect()])
      await temporal.close()
      await Promise.all([sql.end({ timeout: 5 }), workerSql.end({ timeout: 5 })])
    },
  }
}
