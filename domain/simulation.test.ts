import { describe, expect, it } from 'vitest'
import { decodeBallot, encodeBallot, ID_PATTERN, IMPRINT_PATTERN } from './ballot.ts'
import { CHANNEL_ORDER, defaultPlan, Simulation } from './simulation.ts'
import { SIMULATION_LIMITS } from './simulation-limits.ts'

const settings = { seed: 42, voters: 10_000, turnout: 0.7, invalidShare: 0.05, duplicateShare: 0.03 }
const at = '2026-11-24T12:00:00Z'
const clean = { invalidShare: 0, duplicateShare: 0 }

/** Valid ballots per candidate id among ballots [from, to). */
function countCandidates(sim: Simulation, from: number, to: number): Map<string, number> {
  const out = new Map<string, number>()
  for (let k = from; k < to; k++) {
    const id = sim.plan.candidates[sim.validBallot(k).candidateIndex]?.id ?? ''
    out.set(id, (out.get(id) ?? 0) + 1)
  }
  return out
}

const leaderOf = (votes: Map<string, number>) => [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0]

const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs)

describe('the election generator', () => {
  it('gives the same plan and ballots for the same seed, and others for another seed', () => {
    const a = new Simulation(defaultPlan('e1', settings, { regions: 40, candidates: 6 }))
    const b = new Simulation(defaultPlan('e1', settings, { regions: 40, candidates: 6 }))
    const c = new Simulation(defaultPlan('e1', { ...settings, seed: 43 }, { regions: 40, candidates: 6 }))
    expect(a.plan).toEqual(b.plan)
    expect(a.plan.regions.map((r) => r.name)).not.toEqual(c.plan.regions.map((r) => r.name))
    const some = (s: Simulation) => [0, 1, 2, 500, 3333, s.ballotCount - 1].flatMap((k) => s.messagesFor(k, at))
    const range = (s: Simulation) => Array.from({ length: 500 }, (_, k) => s.messagesFor(k, at))
    expect(range(a)).toEqual(range(b))
    expect(some(a)).toEqual(some(b))
    expect(range(a)).not.toEqual(range(c))
    // A ballot asked for again, alone and out of order, is the same ballot.
    expect(a.messagesFor(4321, at)).toEqual(b.messagesFor(4321, at))
  })

  it('never lets a voter cast two valid ballots, gives each ballot its own id, and keeps each voter in their region', () => {
    for (const regions of [1, 8, 300]) {
      const sim = new Simulation(defaultPlan('e1', settings, { regions }))
      const voters = new Set<string>()
      const ids = new Set<string>()
      for (let k = 0; k < sim.ballotCount; k++) {
        const b = sim.validBallot(k)
        expect(sim.voterIndex(k)).toBe(b.voterIndex)
        // The roll createSimulatedRoll writes puts voter i in region regionIndexOf(i).
        expect(sim.regionIndexOf(b.voterIndex)).toBe(b.regionIndex)
        for (const m of sim.messagesFor(k, at)) {
          if (m.ballot) {
            expect(ids.has(m.ballot.ballotId)).toBe(false)
            ids.add(m.ballot.ballotId)
          }
          if (m.kind === 'valid') {
            expect(voters.has(m.ballot.voterId)).toBe(false)
            expect(m.ballot.regionId).toBe(sim.plan.regions[b.regionIndex]?.id)
            voters.add(m.ballot.voterId)
          }
        }
      }
      expect(voters.size).toBe(7000)
    }
  })

  it('lets every voter vote once when turnout is 1, whatever the regions draw', () => {
    const sim = new Simulation(defaultPlan('e1', { ...settings, voters: 3001, turnout: 1 }, { regions: 37 }))
    const seen = new Uint8Array(3001)
    for (let k = 0; k < sim.ballotCount; k++) seen[sim.voterIndex(k)]! += 1
    expect([...seen].every((n) => n === 1)).toBe(true)
    expect(() => sim.validBallot(sim.ballotCount)).toThrow(RangeError)
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
      const [first] = sim.messagesFor(k, at)
      expect(first?.kind).toBe('valid')
      expect(decodeBallot(encodeBallot(first!.ballot!)).ok).toBe(true)
    }
  })

  it('counts to its ground truth: a recount of messagesFor over [0, n) gives the same votes, per channel too', () => {
    const sim = new Simulation(defaultPlan('e1', settings, { regions: 60, candidates: 7 }))
    for (const n of [0, 1234, sim.ballotCount, sim.ballotCount + 10]) {
      const votes = new Map<string, number>()
      const byChannel = new Map<string, number>()
      const rejections = new Map<string, number>()
      for (let k = 0; k < Math.min(n, sim.ballotCount); k++) {
        for (const m of sim.messagesFor(k, at)) {
          if (m.kind === 'valid') {
            const key = `${'candidateId' in m.ballot ? m.ballot.candidateId : ''}|${m.ballot.regionId}`
            votes.set(key, (votes.get(key) ?? 0) + 1)
            byChannel.set(`${key}|${m.ballot.channel}`, (byChannel.get(`${key}|${m.ballot.channel}`) ?? 0) + 1)
          } else {
            rejections.set(m.kind, (rejections.get(m.kind) ?? 0) + 1)
          }
        }
      }
      expect(sim.groundTruth(n)).toEqual({ votes, rejections })
      expect(sim.groundTruthByChannel(n)).toEqual({ votes: byChannel, rejections })
    }
    // The plan per region is what the whole run brings.
    const planned = new Map<string, number>()
    for (const [key, count] of sim.groundTruth(sim.ballotCount).votes) {
      const region = key.split('|')[1] ?? ''
      planned.set(region, (planned.get(region) ?? 0) + count)
    }
    for (const [region, count] of sim.plannedPerRegion()) expect(planned.get(region) ?? 0).toBe(count)
  })
})

describe('the simulated country', () => {
  it('has states, counties and precincts with ids, names and coordinates, for 1 to 5000 regions', () => {
    for (const regions of [1, 2, 8, 5000]) {
      const plan = defaultPlan('e1', { ...settings, voters: 1_000_000 }, { regions })
      expect(plan.regions).toHaveLength(regions)
      expect(new Set(plan.regions.map((r) => r.id)).size).toBe(regions)
      expect(plan.regions.reduce((s, r) => s + r.registeredVoters, 0)).toBe(1_000_000)
      for (const r of plan.regions) {
        expect(r.id).toMatch(ID_PATTERN)
        expect(r.name).toContain(`${r.county} Co.`)
        expect(r.state.length).toBeGreaterThan(2)
        expect(r.registeredVoters).toBeGreaterThan(0)
        expect(r.lat).toBeGreaterThanOrEqual(24)
        expect(r.lat).toBeLessThanOrEqual(50)
        expect(r.lon).toBeGreaterThanOrEqual(-125)
        expect(r.lon).toBeLessThanOrEqual(-68)
      }
    }
    const big = defaultPlan('e1', { ...settings, voters: 1_000_000 }, { regions: 5000 })
    const states = new Map<string, Array<{ lat: number; lon: number }>>()
    const counties = new Set<string>()
    for (const r of big.regions) {
      states.set(r.state, [...(states.get(r.state) ?? []), { lat: r.lat ?? 0, lon: r.lon ?? 0 }])
      counties.add(`${r.state}/${r.county}`)
    }
    expect(states.size).toBeGreaterThan(5)
    expect(counties.size).toBeGreaterThan(100)
    // Each state sits in its own box, much smaller than the country's.
    for (const places of states.values()) {
      expect(spread(places.map((p) => p.lat))).toBeLessThan(16)
      expect(spread(places.map((p) => p.lon))).toBeLessThan(16)
    }
    // Precincts differ in size (cities are bigger), with at least one voter each.
    const sizes = big.regions.map((r) => r.registeredVoters)
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(3)
  })

  it('has 2 to 12 candidates, the four defaults first', () => {
    const four = defaultPlan('e1', settings).candidates.map((c) => c.id)
    expect(four).toEqual(['ada', 'alan', 'grace', 'edsger'])
    for (let n = SIMULATION_LIMITS.candidates.min; n <= SIMULATION_LIMITS.candidates.max; n++) {
      const candidates = defaultPlan('e1', settings, { candidates: n }).candidates
      expect(candidates).toHaveLength(n)
      expect(candidates.slice(0, 4).map((c) => c.id)).toEqual(four.slice(0, Math.min(n, 4)))
      expect(new Set(candidates.map((c) => c.id)).size).toBe(n)
      for (const c of candidates) expect(c.id).toMatch(ID_PATTERN)
    }
    expect(SIMULATION_LIMITS.candidates.max).toBe(12)
    expect(SIMULATION_LIMITS.regions.max).toBe(5000)
  })

  it('turns out and leans differently in different regions, within bounds', () => {
    const plan = defaultPlan('e1', { ...settings, ...clean, voters: 600_000, turnout: 0.65 }, { regions: 300, candidates: 5 })
    const sim = new Simulation(plan)
    const planned = sim.plannedPerRegion()
    const turnouts = plan.regions.map((r) => (planned.get(r.id) ?? 0) / r.registeredVoters)
    expect(Math.min(...turnouts)).toBeGreaterThan(0.2)
    expect(Math.max(...turnouts)).toBeLessThanOrEqual(1)
    expect(spread(turnouts)).toBeGreaterThan(0.25)
    // The total is exactly what was asked for.
    expect([...planned.values()].reduce((s, n) => s + n, 0)).toBe(Math.floor(600_000 * 0.65))

    const { votes } = sim.groundTruth(sim.ballotCount)
    const national = new Map<string, number>()
    for (const [key, n] of votes) national.set(key.split('|')[0] ?? '', (national.get(key.split('|')[0] ?? '') ?? 0) + n)
    const top = leaderOf(national) ?? ''
    const topShares = plan.regions.map((r) => (votes.get(`${top}|${r.id}`) ?? 0) / (planned.get(r.id) ?? 1))
    expect(spread(topShares)).toBeGreaterThan(0.3)
    const leaders = new Set(
      plan.regions.map((r) => leaderOf(new Map(plan.candidates.map((c) => [c.id, votes.get(`${c.id}|${r.id}`) ?? 0])))),
    )
    expect(leaders.size).toBeGreaterThan(1)
    // Every candidate gets votes, and shares stay proper.
    for (const c of plan.candidates) expect(national.get(c.id) ?? 0).toBeGreaterThan(0)
    for (let r = 0; r < plan.regions.length; r++) {
      for (const shares of sim.regionProfile(r).shares) expect(shares.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9)
    }
  })
})

describe('the order ballots arrive in', () => {
  it('brings early ballots first, then election day, then mail', () => {
    const sim = new Simulation(defaultPlan('e1', settings, { regions: 120 }))
    let last = 0
    const ranges = sim.channelRanges
    expect(ranges.early.from).toBe(0)
    expect(ranges.early.to).toBe(ranges.election_day.from)
    expect(ranges.election_day.to).toBe(ranges.mail.from)
    expect(ranges.mail.to).toBe(sim.ballotCount)
    for (let k = 0; k < sim.ballotCount; k++) {
      const channel = CHANNEL_ORDER.indexOf(sim.validBallot(k).channel as (typeof CHANNEL_ORDER)[number])
      expect(channel).toBeGreaterThanOrEqual(last)
      last = channel
      const range = ranges[CHANNEL_ORDER[channel] ?? 'early']
      expect(k >= range.from && k < range.to).toBe(true)
    }
    // Each channel is a real share of the vote.
    for (const c of CHANNEL_ORDER) expect(ranges[c].to - ranges[c].from).toBeGreaterThan(0.05 * sim.ballotCount)
  })

  it('has regions start reporting their election-day ballots at different times', () => {
    const sim = new Simulation(defaultPlan('e1', { ...settings, voters: 200_000 }, { regions: 200 }))
    const { from, to } = sim.channelRanges.election_day
    const first = new Map<number, number>()
    const last = new Map<number, number>()
    for (let k = from; k < to; k++) {
      const r = sim.validBallot(k).regionIndex
      if (!first.has(r)) first.set(r, (k - from) / (to - from))
      last.set(r, (k - from) / (to - from))
    }
    const starts = [...first.values()].sort((a, b) => a - b)
    const q = (f: number) => starts[Math.floor(f * (starts.length - 1))] ?? 0
    // A tenth of the regions have begun before 10% of the day is counted; another tenth only after half of it.
    expect(q(0.1)).toBeLessThan(0.1)
    expect(q(0.9)).toBeGreaterThan(0.5)
    // And a region reports over a part of the day, not all of it.
    const lengths = [...first.entries()].map(([r, f]) => (last.get(r) ?? 0) - f).sort((a, b) => a - b)
    expect(lengths[Math.floor(lengths.length / 2)]).toBeLessThan(0.6)
  })

  it('leans differently by channel, so a call at half counted is sometimes wrong', () => {
    let wrong = 0
    let shifts = 0
    const seeds = 20
    for (let seed = 1; seed <= seeds; seed++) {
      const sim = new Simulation(defaultPlan('e', { ...settings, ...clean, seed, voters: 30_000 }, { regions: 100 }))
      const half = leaderOf(countCandidates(sim, 0, Math.floor(sim.ballotCount / 2)))
      const final = leaderOf(countCandidates(sim, 0, sim.ballotCount))
      if (half !== final) wrong++
      // The main contenders' mail share differs from their election-day share.
      const { election_day: day, mail } = sim.channelRanges
      const share = (counts: Map<string, number>, n: number) => (counts.get('ada') ?? 0) / n
      const d = share(countCandidates(sim, day.from, day.to), day.to - day.from)
      const m = share(countCandidates(sim, mail.from, mail.to), mail.to - mail.from)
      if (Math.abs(d - m) > 0.05) shifts++
    }
    expect(wrong).toBeGreaterThan(0)
    expect(wrong).toBeLessThan(seeds / 2)
    expect(shifts).toBeGreaterThan(seeds / 2)
  })
})

describe('ballot ids', () => {
  it('differ between two elections with the same seed', () => {
    const a = new Simulation(defaultPlan('e1', settings)).validBallot(0).ballotId
    const b = new Simulation(defaultPlan('e2', settings)).validBallot(0).ballotId
    expect(a).not.toBe(b)
  })
})

describe("the papers' imprints", () => {
  const keyed = (imprintKey?: string) =>
    new Simulation(defaultPlan('imprinted', { ...settings, voters: 20_000, turnout: 1, contests: true, imprintKey }, { regions: 8 }))
  const sim = keyed('00112233445566778899aabbccddeeff')
  const imprints = Array.from({ length: sim.ballotCount }, (_, k) => sim.imprint(k) as string)

  it('are all different, in the contract, not in casting order, and sent with each long ballot', () => {
    expect(new Set(imprints).size).toBe(sim.ballotCount)
    expect(imprints.every((i) => IMPRINT_PATTERN.test(i))).toBe(true)
    // Sorted, they say nothing of k: about half the neighbours in k are out of order.
    const descents = imprints.slice(1).filter((x, k) => x < (imprints[k] as string)).length
    expect(descents / imprints.length).toBeGreaterThan(0.45)
    expect(descents / imprints.length).toBeLessThan(0.55)
    const sent = sim.messagesFor(7, '2026-11-03T12:00:00.000Z')[0]
    expect(sent?.ballot).toMatchObject({ v: 2, imprint: imprints[7] })
    expect(decodeBallot(encodeBallot(sent?.ballot as never))).toMatchObject({ ok: true, ballot: { imprint: imprints[7] } })
  })

  it("are the plan's key's: another key prints others, and no key prints none", () => {
    const other = keyed('ffeeddccbbaa99887766554433221100')
    expect(other.imprint(0)).not.toBe(imprints[0])
    const none = keyed(undefined)
    expect(none.imprint(0)).toBeNull()
    expect(none.messagesFor(0, '2026-11-03T12:00:00.000Z')[0]?.ballot).not.toHaveProperty('imprint')
  })

  it('find their paper: each imprint gives back its ballot number, an unknown one nothing', () => {
    const found = sim.papersByImprint([imprints[0] as string, imprints[12_345] as string, 'not-an-imprint'], sim.ballotCount)
    expect([...found]).toEqual([
      [imprints[0], 0],
      [imprints[12_345], 12_345],
    ])
    // Only among the papers produced.
    expect(sim.papersByImprint([imprints[12_345] as string], 12_345).size).toBe(0)
  })
})

describe('generation speed (printed, not asserted)', () => {
  it('generates a 2,000,000-ballot election quickly and counts its truth in seconds', () => {
    const started = performance.now()
    const plan = defaultPlan(
      'speed',
      { seed: 9, voters: Math.ceil(2_000_000 / 0.7), turnout: 0.7, invalidShare: 0.01, duplicateShare: 0.005 },
      { regions: 5000, candidates: 12 },
    )
    const sim = new Simulation(plan)
    const built = performance.now() - started
    expect(sim.ballotCount).toBeGreaterThanOrEqual(2_000_000)
    const castAt = new Date().toISOString()
    const sample = 200_000
    let t = performance.now()
    let messages = 0
    for (let k = 0; k < sample; k++) messages += sim.messagesFor(k * 10, castAt).length
    const perSecond = sample / ((performance.now() - t) / 1000)
    t = performance.now()
    const planned = sim.plannedPerRegion()
    const plannedMs = performance.now() - t
    t = performance.now()
    const truth = sim.groundTruth(sim.ballotCount)
    const truthMs = performance.now() - t
    console.log(
      `simulator: plan+build ${built.toFixed(0)} ms for ${plan.regions.length} regions; messagesFor ${Math.round(perSecond).toLocaleString('en-US')} ballots/s ` +
        `(${messages} messages); plannedPerRegion ${plannedMs.toFixed(1)} ms; groundTruth over ${sim.ballotCount.toLocaleString('en-US')} ballots ${truthMs.toFixed(0)} ms`,
    )
    expect(planned.size).toBe(5000)
    expect([...truth.votes.values()].reduce((s, n) => s + n, 0)).toBe(sim.ballotCount)
  })
})
