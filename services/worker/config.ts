import { z } from 'zod'
import { databaseConfig, kafkaConfig, logConfig, parseConfig, temporalConfig } from '../../lib/config.ts'

export const workerConfig = z.object({
  ...databaseConfig.shape,
  ...kafkaConfig.shape,
  ...temporalConfig.shape,
  ...logConfig.shape,
  /** The tally service's consumer group, whose stored offsets tell when counting is done. */
  TALLY_GROUP_ID: z.string().min(1).default('tally'),
  /** A workflow bundle built ahead of time (`bun run build:worker`); else bundled at start. */
  WORKFLOW_BUNDLE: z.string().optional(),
})
export type WorkerConfig = z.output<typeof workerConfig>
export const loadWorkerConfig = (env = process.env) => parseConfig(workerConfig, env)
