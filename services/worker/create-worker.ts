import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { NativeConnection, Worker } from '@temporalio/worker'
import { createActivities } from '../../activities/index.ts'
import type { Sql } from '../../lib/db/sql.ts'
import { createKafka } from '../../lib/kafka.ts'
import type { Logger } from '../../lib/log.ts'
import type { WorkerConfig } from './config.ts'

export const WORKFLOWS_PATH = join(import.meta.dirname, '..', '..', 'workflows', 'index.ts')

/** A Temporal worker hosting the election and reconciliation workflows and their activities. */
export async function createWorker(config: WorkerConfig, sql: Sql, log?: Logger) {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-worker`, log })
  const producer = kafka.producer()
  const admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS })
  const temporal = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE })
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS })
  const bundle = config.WORKFLOW_BUNDLE && existsSync(config.WORKFLOW_BUNDLE) ? config.WORKFLOW_BUNDLE : undefined
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      sql,
      producer,
      admin,
      temporal,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      tallyGroupId: config.TALLY_GROUP_ID,
    }),
    maxConcurrentActivityTaskExecutions: 20,
  })
  return {
    worker,
    /** Closes what the worker opened (call after `worker.run()` has returned). */
    async close() {
      await Promise.allSettled([producer.disconnect(), admin.disconnect(), clientConnection.close(), connection.close()])
    },
  }
}
