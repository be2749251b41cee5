import { DefaultLogger, Runtime } from '@temporalio/worker'
import { configOrExit } from '../../lib/config.ts'
import { createSql } from '../../lib/db/sql.ts'
import { createLogger } from '../../lib/log.ts'
import { runMain } from '../../lib/process.ts'
import { loadWorkerConfig } from './config.ts'
import { createWorker } from './create-worker.ts'

/**
 * The Temporal worker, on Node (the SDK's supported runtime for workers). Built by
 * `bun run build:worker`; started by `bun run worker`. SIGTERM / SIGINT drain it: the
 * SDK stops polling, lets running activities finish, and `run()` returns.
 */
const bootLog = createLogger('worker')

runMain(bootLog, async () => {
  const config = configOrExit(loadWorkerConfig)
  const log = createLogger('worker', config.LOG_LEVEL)
  Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') })
  const sql = createSql(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, applicationName: 'votestream-worker' })
  const { worker, close } = await createWorker(config, sql, log)
  log.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, address: config.TEMPORAL_ADDRESS },
    'worker polling',
  )
  await worker.run()
  await close()
  await sql.end({ timeout: 5 })
  log.info('worker stopped')
})
