import { z } from 'zod'

/** The API's limits per client address; every one has a safe default. */
export const limitsConfig = z.object({
  /** Results streams open at once, in total and per client address (past them: 503 / 429). */
  API_SSE_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100_000).default(1000),
  API_SSE_MAX_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(10),
  /** A stream whose client has not taken a snapshot for this long is closed (a reader that stopped reading). */
  API_SSE_STALLED_CLIENT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Seconds a connection may stay silent before the server closes it (streams send a keep-alive more often). */
  API_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(255).default(30),
  /** Public reads (GET) per second per client address, and the burst allowed. */
  API_READS_PER_SECOND: z.coerce.number().min(0.1).max(100_000).default(50),
  API_READS_BURST: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Ballots cast per second per client address (a polling station shares one), and the burst. */
  API_CASTS_PER_SECOND: z.coerce.number().min(0.1).max(100_000).default(20),
  API_CASTS_BURST: z.coerce.number().int().min(1).max(100_000).default(40),
  /**
   * Take the client address from X-Forwarded-For (its last entry) rather than the socket:
   * only behind a proxy that sets it, or any client could pick its own address.
   */
  API_TRUST_PROXY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
})
export type LimitsConfig = z.output<typeof limitsConfig>
