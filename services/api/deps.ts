import type { Registry } from 'prom-client'
import type { Sql } from '../../lib/db/sql.ts'
import type { Logger } from '../../lib/log.ts'
import type { ElectionControl } from '../../lib/temporal.ts'
import type { AuditControl } from '../../lib/temporal-audits.ts'
import type { ApiConfig } from './config.ts'
import type { LimitsConfig } from './limits/config.ts'
import type { OutboxRelay } from './outbox-relay.ts'

/** What the API needs; the routes take it, so tests pass real services. */
export interface ApiDeps {
  /** The primary: control, casting, audits — whatever writes, or must read its own writes. */
  sql: Sql
  /**
   * Public results (snapshots, the live stream, contests, rounds, the CDF export): a hot
   * standby where DATABASE_READ_URL names one, else the primary. Results versions become
   * visible on a standby in the primary's commit order, so `?since=N` misses nothing there.
   */
  readSql: Sql
  elections: ElectionControl
  /** Starts risk-limiting audits (their workflows). */
  audits: AuditControl
  /** Publishes accepted ballots from the outbox; kicked after each cast. */
  outbox: Pick<OutboxRelay, 'kick'>
  /** Each dependency's health: true when it answers. */
  health: () => Promise<Record<string, boolean>>
  config: Pick<
    ApiConfig,
    | 'API_ADMIN_TOKEN'
    | 'API_VOTER_SECRET'
    | 'API_BODY_LIMIT_BYTES'
    | 'API_DEFINITION_LIMIT_BYTES'
    | 'API_RESULTS_MIN_CELL_BALLOTS'
    | 'API_PUBLIC_URL'
    | 'TEMPORAL_UI_URL'
    | 'TEMPORAL_NAMESPACE'
  >
  /** Per-client limits, parsed with the rest of the configuration at start. */
  limits: LimitsConfig
  log: Logger
  registry: Registry
}
