import { describe, expect, it } from 'vitest'
import { decodeBallot, encodeBallot } from './ballot.ts'
import { defaultPlan, Simulation } from './simulation.ts'

const settings = { seed: 42, voters: 10_000, turnout: 0.7, invalidShare: 0.05, duplicateShare: 0.03 }

describe('the election generator', () => {
  it('gives the same ballots for the same seed, and other ballots for another seed', () => {
    const a = new Simulation(defaultPlan('e1', settings))
    const b = new Simulation(defaultPlan('e1', settings))
    const c = new Simulation(defaultPlan('e1', { ...settings, seed: 43 }))
    const at = '2026-11-24T12:00:00Z'
    const range = (s: Simulation) => Array.from({ length: 500 }, (_, k) => s.messagesFor(k, at))
    expect(range(a)).toEqual(range(b))
    expect(range(a)).not.toEqual(range(c))
  })

  it('never lets a voter cast two valid ballots and gives each ballot its own id', () => {
    const sim = new Simulation(defaultPlan('e1', settings))
    const voters = new Set<string>()
    const ids = new Set<string>()
    for (let k = 0; k < sim.ballotCount; k++) {
      for (const m of sim.messagesFor(k, '2026-11-24T12:00:00Z')) {
        if (m.ballot) {
          expect(ids.has(m.ballot.ballotId)).toBe(false)
          ids.add(m.ballot.ballotId)
        }
        if (m.kind === 'valid') {
          expect(voters.has(m.ballot.voterId)).toBe(false)
          voters.add(m.ballot.voterId)
        }
      }
    }
    expect(voters.size).toBe(7000)
  })

  it('emits valid ballots that satisfy the contract, and each injected kind as often as asked', () => {
    const sim = new Simulation(defaultPlan('e1', settings))
    const truth = sim.groundTruth(sim.ballotCount)
    const valid = [...truth.votes.values()].reduce((s, n) => s + n, 0)
    expect(valid).toBe(7000)
    const injected = [...truth.rejections.entries()].filter(([k]) => k !== 'duplicate_voter').reduce((s, [, n]) => s + n, 0)
    expect(injected / valid).toBeGreaterThan(0.035)
    expect(injected / valid).toBeLessThan(0.065)
    expect(truth.rejections.get('duplicate_voter') ?? 0).toBeGreaterThan(150)
    for (let k = 0; k < 200; k++) {
      const [first] = sim.messagesFor(k, '2026-11-24T12:00:00Z')
      expect(first?.kind).toBe('valid')
      expect(decodeBallot(encodeBallot(first!.ballot!)).ok).toBe(true)
    }
  })

  it('leans differently in different regions', () => {
    const sim = new Simulation(defaultPlan('e1', { ...settings, voters: 100_000, invalidShare: 0, duplicateShare: 0 }))
    const { votes } = sim.groundTruth(sim.ballotCount)
    const leader = (region: string) =>
      [...votes.entries()]
        .filter(([k]) => k.endsWith(`|${region}`))
        .sort((x, y) => y[1] - x[1])[0]?.[0]
        .split('|')[0]
    const leaders = new Set(['north', 'lakes', 'capital', 'plains', 'harbor', 'desert', 'valley', 'coast'].map(leader))
    expect(leaders.size).toBeGreaterThan(1)
  })
})

describe('ballot ids', () => {
  it('differ between two elections with the same seed', () => {
    const a = new Simulation(defaultPlan('e1', settings)).validBallot(0).ballotId
    const b = new Simulation(defaultPlan('e2', settings)).validBallot(0).ballotId
    expect(a).not.toBe(b)
  })
})
