import { describe, expect, it } from 'vitest'
import { electionSettingsSchema } from './election-settings.ts'

describe('elections.settings', () => {
  it('reads what createSimulatedElection stores, and the empty settings of a live election', () => {
    const stored = {
      simulation: { seed: 7, voters: 1000, turnout: 0.6, invalidShare: 0.01, duplicateShare: 0.02, contests: true, ratePerSecond: 500 },
    }
    expect(electionSettingsSchema.parse(stored)).toEqual(stored)
    expect(electionSettingsSchema.parse({})).toEqual({})
    expect(electionSettingsSchema.parse({ simulation: { ...stored.simulation, benchmark: true } }).simulation?.benchmark).toBe(true)
  })

  it('refuses settings that do not fit, rather than reading them as something else', () => {
    expect(electionSettingsSchema.safeParse({ simulation: { seed: 7, voters: '1000', turnout: 0.6 } }).success).toBe(false)
  })
})
