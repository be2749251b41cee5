/**
 * What a simulated election may ask for, and its defaults: one definition for the API's
 * schema and the CLI's flags (the rate's bounds are in rates.ts).
 */
export const SIMULATION_LIMITS = {
  voters: { min: 10, max: 5_000_000, default: 100_000 },
  turnout: { max: 1, default: 0.7 },
  invalidShare: { max: 0.5, default: 0.01 },
  duplicateShare: { max: 0.5, default: 0.005 },
  seed: { max: 2 ** 31, default: 2026 },
  candidates: { min: 2, max: 12, default: 4 },
  regions: { min: 1, max: 5000, default: 8 },
  ratePerSecond: { default: 2000 },
} as const
