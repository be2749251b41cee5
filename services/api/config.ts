import { z } from 'zod'
import { DEFAULT_MIN_CELL_BALLOTS, minCellBallotsSchema } from '../../domain/contest-results.ts'
import {
  databaseConfig,
  databaseReadConfig,
  kafkaConfig,
  LOCAL_ADMIN_TOKEN,
  LOCAL_VOTER_SECRET,
  logConfig,
  parseConfig,
  refuseDefaultSecrets,
  temporalConfig,
} from '../../lib/config.ts'
import { LOCAL } from '../../lib/local-stack.ts'

/** The local default: fine on a laptop, refused where NODE_ENV says production. */
export { LOCAL_ADMIN_TOKEN }

/** Where NODE_ENV is production, the local API_ADMIN_TOKEN, API_VOTER_SECRET and database password are refused. */
export const apiConfig = refuseDefaultSecrets(
  z.object({
    ...databaseConfig.shape,
    ...databaseReadConfig.shape,
    ...kafkaConfig.shape,
    ...temporalConfig.shape,
    ...logConfig.shape,
    API_PORT: z.coerce.number().int().min(0).max(65535).default(LOCAL.api.port),
    /** Where the API listens: the loopback unless a deployment opens it (the compose file sets 0.0.0.0). */
    API_HOST: z.string().min(1).default('127.0.0.1'),
    /** /metrics is served apart from the public API, on this port of API_METRICS_HOST (0 turns it off). */
    API_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(LOCAL.api.metricsPort),
    API_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    API_PUBLIC_URL: z.url().default(`http://127.0.0.1:${LOCAL.api.port}`),
    /** Bearer token of the control routes. */
    API_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').default(LOCAL_ADMIN_TOKEN),
    /** Secret for voters' credentials: tokens are stored as HMACs under it, never in plain. */
    API_VOTER_SECRET: z.string().min(16, 'at least 16 characters').default(LOCAL_VOTER_SECRET),
    API_BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(64 * 1024),
    /** The body of POST /elections with the admin token: a definition of many contests over many regions. */
    API_DEFINITION_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /**
     * This deployment's smallest public cell (a region, a channel): the `minCellBallots` of an
     * election created without one, and the least one may be created with (a larger one
     * hides more). Each election keeps the minimum it was created with (stored with it): its
     * results, feed, exports, the tallies' release and Grafana all hide at that one size.
     */
    API_RESULTS_MIN_CELL_BALLOTS: z.coerce.number().pipe(minCellBallotsSchema).default(DEFAULT_MIN_CELL_BALLOTS),
    /**
     * The API's database sessions give up instead of waiting without limit (a request is
     * answered 503, to be retried): a lock held by a frozen process, a read gone slow, a
     * transaction left open by a stalled client. The audit files' downloads lift the statement
     * limit for their transaction: a cursor read at a slow client's pace is one statement to it.
     */
    API_LOCK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
    API_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
    API_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  }),
)
export type ApiConfig = z.output<typeof apiConfig>
export const loadApiConfig = (env = process.env) => parseConfig(apiConfig, env)

/** The API pool's session settings (see API_LOCK_TIMEOUT_MS). */
export function apiSessionSettings(config: ApiConfig): Record<string, number> {
  return {
    lock_timeout: config.API_LOCK_TIMEOUT_MS,
    statement_timeout: config.API_STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: config.API_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  }
}
