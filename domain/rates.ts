/**
 * Simulated ballots per second. At least one: below that a chunk of one ballot per tick
 * ran faster than asked. At most what the pipeline sustains on one machine with room to
 * spare (about 45,000/s measured, see bench/): a higher rate only grows the backlog.
 */
export const RATE_LIMITS = { min: 1, max: 100_000 } as const

export function rateProblem(rate: number): string | null {
  if (!Number.isFinite(rate) || rate < RATE_LIMITS.min || rate > RATE_LIMITS.max) {
    return `rate must be between ${RATE_LIMITS.min} and ${RATE_LIMITS.max.toLocaleString('en-US')} ballots/s, not ${rate}`
  }
  return null
}
