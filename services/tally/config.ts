import { z } from 'zod'
import { databaseConfig, kafkaConfig, logConfig, parseConfig, refuseDefaultSecrets } from '../../lib/config.ts'
import { LOCAL, TOPICS } from '../../lib/local-stack.ts'

export const tallyConfig = z.object({
  ...databaseConfig.shape,
  ...kafkaConfig.shape,
  ...logConfig.shape,
  TALLY_GROUP_ID: z.string().min(1).default('tally'),
  /** The topic of ballots to count (the benchmark points a tally at a topic of its own). */
  TALLY_TOPIC: z.string().min(1).default(TOPICS.votes.name),
  TALLY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(LOCAL.tallyMetrics.port),
  /**
   * Counting transactions in flight at once. The batches of all partitions that arrive
   * meanwhile share them (services/tally/group-commit.ts). Two, on two cores: one runs its
   * statements while the other's results are handled; measured against one transaction
   * per partition, three at a time, at 10,000/s offered PostgreSQL CPU per ballot went from
   * 90 to 66 µs and p99 from 31 to 22 ms.
   */
  TALLY_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  /** How long a fetch may wait for more ballots: the floor of the counting latency. */
  TALLY_MAX_WAIT_MS: z.coerce.number().int().min(1).max(5000).default(20),
  /**
   * A fetch returns once this many bytes are ready (or TALLY_MAX_WAIT_MS passed). 1 keeps
   * latency lowest; measured with 256 KiB / 40 ms, PostgreSQL CPU at 2,000/s fell from 69%
   * to 20% of a core, but p99 rose (30 → 84 ms at 2,000/s) and the maximum did not move.
   */
  TALLY_MIN_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .default(1),
  /** Ballots per transaction at most. */
  TALLY_MAX_BATCH: z.coerce.number().int().min(1).max(100_000).default(5000),
  /** How far ahead of the database's clock a ballot's castAt may be before it is rejected. */
  TALLY_MAX_CLOCK_SKEW_MS: z.coerce.number().int().min(0).max(86_400_000).default(120_000),
  /**
   * How often the consumer refreshes the topic's metadata: partitions added to it are
   * counted from their first ballot at most this long after (kafkajs's default is 5
   * minutes, during which ballots sent there wait, and the close waits for them).
   */
  TALLY_METADATA_MAX_AGE_MS: z.coerce.number().int().min(1000).max(300_000).default(30_000),
  /** A partition with lag and no progress for this long makes /healthz answer 503. */
  TALLY_STALL_AFTER_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  /** Where /healthz and /metrics listen: the loopback unless a deployment opens it. */
  TALLY_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Days the raw bytes of rejected messages are kept after their election is certified (or,
   * with no known election, after they were rejected); then only their SHA-256 and size.
   */
  TALLY_REJECTED_RAW_KEEP_DAYS: z.coerce.number().min(0).max(36_500).default(30),
  /**
   * The ballot box's window: ballots counted within one window are moved into the box
   * together, in random order. The finest grain at which anyone with the database can
   * place a ballot in time; also the longest a ballot waits in the pending box.
   */
  TALLY_BALLOT_BOX_MIX_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  /**
   * …or sooner, once this instance has counted this many ballots since its last move: at
   * 10,000 ballots/s a window of 10,000 ballots is a second, so what is read from the box
   * (a ranked contest's rounds) lags the count by about a second, and no window is smaller.
   */
  TALLY_BALLOT_BOX_MIX_BALLOTS: z.coerce.number().int().min(100).max(10_000_000).default(10_000),
  TALLY_SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  /**
   * No longer read: each election carries its smallest public cell (`minCellBallots`, set
   * when it is created), which is also the step its public counts and ranked rounds move by.
   * Refused rather than ignored, so a deployment that set it learns where it went.
   */
  TALLY_RESULTS_MIN_CELL_BALLOTS: z
    .never({
      error:
        "is no longer read: each election carries its own smallest public cell (POST /elections `minCellBallots`, default the API's API_RESULTS_MIN_CELL_BALLOTS); unset it",
    })
    .optional(),
  /**
   * Limits on every session of the counting pool, so that an instance that freezes in the
   * middle of a transaction (SIGSTOP, a long pause, a VM migration, a network cut) loses
   * its locks in seconds and the instance that takes its partitions over goes on:
   * - a lock waited for longer than TALLY_LOCK_TIMEOUT_MS fails the batch, which is
   *   retried (55P03 is transient: nothing is rejected for it);
   * - a session idle inside a transaction for TALLY_IDLE_IN_TRANSACTION_TIMEOUT_MS is ended
   *   by the server, its transaction rolled back and its locks released (the frozen side);
   * - a statement running past TALLY_STATEMENT_TIMEOUT_MS is cancelled (the batch is halved);
   * - TCP keepalives and the server's check of the client end a session whose peer is
   *   gone within about TALLY_TCP_DEAD_AFTER_S seconds.
   */
  TALLY_LOCK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  TALLY_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(5_000),
  TALLY_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  TALLY_TCP_DEAD_AFTER_S: z.coerce.number().int().min(3).max(3_600).default(15),
})
export type TallyConfig = z.output<typeof tallyConfig>

export const loadTallyConfig = (env = process.env) => parseConfig(refuseDefaultSecrets(tallyConfig), env)

/** The counting pool's session settings (see TALLY_LOCK_TIMEOUT_MS and the others). */
export function countingSessionSettings(config: TallyConfig): Record<string, number> {
  const idle = Math.max(1, Math.floor(config.TALLY_TCP_DEAD_AFTER_S / 3))
  return {
    lock_timeout: config.TALLY_LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: config.TALLY_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    statement_timeout: config.TALLY_STATEMENT_TIMEOUT_MS,
    tcp_keepalives_idle: idle,
    tcp_keepalives_interval: idle,
    tcp_keepalives_count: 2,
    client_connection_check_interval: idle * 1000,
  }
}
