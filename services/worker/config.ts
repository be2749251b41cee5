import { z } from 'zod'
import { databaseConfig, kafkaConfig, logConfig, parseConfig, refuseDefaultSecrets, temporalConfig } from '../../lib/config.ts'

/** Where NODE_ENV is production, a DATABASE_URL with the local password (or none) is refused. */
export const workerConfig = refuseDefaultSecrets(
  z.object({
    ...databaseConfig.shape,
    ...kafkaConfig.shape,
    ...temporalConfig.shape,
    ...logConfig.shape,
    /** The tally service's consumer group, whose stored offsets tell when counting is done. */
    TALLY_GROUP_ID: z.string().min(1).default('tally'),
    /** A workflow bundle built ahead of time (`bun run build:worker`); else bundled at start. */
    WORKFLOW_BUNDLE: z.string().optional(),
  }),
)
export type WorkerConfig = z.output<typeof workerConfig>
export const loadWorkerConfig = (env = process.env) => parseConfig(workerConfig, env)
