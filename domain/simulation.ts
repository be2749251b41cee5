import type { Ballot, Channel, RejectionReason } from './ballot.ts'
import type { Candidate, Region } from './election.ts'

/**
 * A seeded, deterministic election generator. Everything about ballot number `k` is a
 * pure function of (settings, k), so any range of ballots can be produced again, byte for
 * byte but for `castAt`, and a retried producer repeats exactly what it sent before: the
 * ballot ids are the same, so nothing is counted twice.
 *
 * The roll: `voters` registered voters in contiguous blocks per region (sized by the
 * regions' weights). Ballot k is cast by voter `perm(k)`, a permutation of the roll, so no
 * voter casts two valid ballots. After ballot k the generator may inject a duplicate (the
 * same voter again, another ballot id) or an invalid ballot of some kind.
 */

export interface SimulationSettings {
  seed: number
  /** Registered voters on the roll. */
  voters: number
  /** Share of the roll that votes, 0..1. */
  turnout: number
  /** Probability, per valid ballot, of injecting an invalid one after it. */
  invalidShare: number
  /** Probability, per valid ballot, of the same voter trying again with another ballot. */
  duplicateShare: number
}

export interface SimulationPlan {
  electionId: string
  settings: SimulationSettings
  candidates: Candidate[]
  regions: Region[]
}

/** What may follow a valid ballot; each produces one rejection with this reason. */
// (`unknown_election` is left out: such a ballot belongs to no election to check against.)
export const INJECTED_KINDS = [
  'malformed',
  'invalid_schema',
  'unknown_candidate',
  'unknown_region',
  'voter_not_registered',
  'wrong_region',
] as const satisfies readonly RejectionReason[]

export type GeneratedMessage =
  | { kind: 'valid'; key: string; ballot: Ballot; raw?: undefined }
  | { kind: 'duplicate_voter'; key: string; ballot: Ballot; raw?: undefined }
  | { kind: (typeof INJECTED_KINDS)[number]; key: string; ballot?: Ballot; raw?: string }

const DEFAULT_REGIONS: Array<Omit<Region, 'registeredVoters'> & { weight: number }> = [
  { id: 'north', name: 'Northport', state: 'North', lat: 47.6, lon: -122.3, weight: 3 },
  { id: 'lakes', name: 'Lakeside', state: 'North', lat: 44.9, lon: -93.3, weight: 2 },
  { id: 'capital', name: 'Capital City', state: 'Central', lat: 39.7, lon: -104.9, weight: 4 },
  { id: 'plains', name: 'Plainsfield', state: 'Central', lat: 39.1, lon: -94.6, weight: 2 },
  { id: 'harbor', name: 'Harbor Bay', state: 'South', lat: 29.9, lon: -90.1, weight: 3 },
  { id: 'desert', name: 'Desert Springs', state: 'South', lat: 33.4, lon: -112.1, weight: 2 },
  { id: 'valley', name: 'Green Valley', state: 'West', lat: 37.3, lon: -121.9, weight: 3 },
  { id: 'coast', name: 'Seacoast', state: 'West', lat: 34.0, lon: -118.2, weight: 1 },
]

const DEFAULT_CANDIDATES: Candidate[] = [
  { id: 'ada', name: 'Ada Lovelace', party: 'Analytical' },
  { id: 'alan', name: 'Alan Turing', party: 'Computable' },
  { id: 'grace', name: 'Grace Hopper', party: 'Compiler' },
  { id: 'edsger', name: 'Edsger Dijkstra', party: 'Structured' },
]

/** A plan with the default candidates and regions, sized to `settings.voters`. */
export function defaultPlan(
  electionId: string,
  settings: SimulationSettings,
  counts: { candidates?: number; regions?: number } = {},
): SimulationPlan {
  const candidates = DEFAULT_CANDIDATES.slice(0, clamp(counts.candidates ?? 4, 2, DEFAULT_CANDIDATES.length))
  const chosen = DEFAULT_REGIONS.slice(0, clamp(counts.regions ?? 8, 1, DEFAULT_REGIONS.length))
  const totalWeight = chosen.reduce((s, r) => s + r.weight, 0)
  let assigned = 0
  const regions = chosen.map(({ weight, ...r }, i) => {
    const registeredVoters = i === chosen.length - 1 ? settings.voters - assigned : Math.floor((settings.voters * weight) / totalWeight)
    assigned += registeredVoters
    return { ...r, registeredVoters }
  })
  return { electionId, settings, candidates, regions }
}

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.floor(n)))

/** A fast 32-bit mixer (a "lowbias32" finaliser): the source of every random choice. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

/** A uniform number in [0, 1) for (seed, k, salt): the same arguments, the same number. */
function uniform(seed: number, k: number, salt: number): number {
  return mix(mix(mix(seed ^ 0x9e3779b9) ^ k) ^ Math.imul(salt, 0x85ebca6b)) / 4294967296
}

/** FNV-1a: folds the election id into the ballot ids, so two elections never share one. */
function hashString(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function uuidFor(seed: number, k: number, salt: number): string {
  const hex = [1, 2, 3, 4]
    .map((i) =>
      mix(mix(seed + i) ^ mix(k * 7 + salt))
        .toString(16)
        .padStart(8, '0'),
    )
    .join('')
  // Shaped as a version-4 UUID so every consumer's UUID check accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((Number.parseInt(hex[16] ?? '0', 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

export function voterId(index: number): string {
  return `v${index.toString(36).padStart(6, '0')}`
}

/** The generator for one plan; cheap to build, pure to call. */
export class Simulation {
  readonly ballotCount: number
  private readonly regionEnds: number[]
  private readonly step: number
  private readonly offset: number
  private readonly preferences: number[][]
  /** The seed of ballot ids: the generator's seed and the election's id. */
  private readonly idSeed: number

  constructor(readonly plan: SimulationPlan) {
    const { voters, turnout, seed } = plan.settings
    if (plan.regions.reduce((s, r) => s + r.registeredVoters, 0) !== voters) {
      throw new Error("the regions' registered voters must add up to settings.voters")
    }
    this.ballotCount = Math.floor(voters * turnout)
    this.idSeed = mix(seed ^ hashString(plan.electionId))
    let end = 0
    this.regionEnds = plan.regions.map((r) => (end += r.registeredVoters))
    // perm(k) = (step * k + offset) mod voters is a permutation when gcd(step, voters) = 1.
    let step = (mix(seed ^ 0x51ed) % Math.max(voters - 1, 1)) + 1
    while (gcd(step, voters) !== 1) step++
    this.step = step
    this.offset = mix(seed ^ 0xabcd) % Math.max(voters, 1)
    // Each region leans its own way: the base popularity, reweighted per region.
    this.preferences = plan.regions.map((_, r) => {
      const weights = plan.candidates.map((_, c) => (1 + c * 0.15) * (0.5 + uniform(seed, r, 1000 + c)))
      const total = weights.reduce((s, w) => s + w, 0)
      let acc = 0
      return weights.map((w) => (acc += w / total))
    })
  }

  voterIndex(k: number): number {
    return Number((BigInt(this.step) * BigInt(k) + BigInt(this.offset)) % BigInt(this.plan.settings.voters))
  }

  regionIndexOf(voterIndex: number): number {
    let lo = 0
    let hi = this.regionEnds.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (voterIndex < (this.regionEnds[mid] ?? 0)) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** The valid ballot number k, without `castAt` (the producer stamps the send time). */
  validBallot(k: number): { voterIndex: number; regionIndex: number; candidateIndex: number; channel: Channel; ballotId: string } {
    const { seed } = this.plan.settings
    const voterIndex = this.voterIndex(k)
    const regionIndex = this.regionIndexOf(voterIndex)
    const u = uniform(seed, k, 1)
    const prefs = this.preferences[regionIndex] ?? []
    let candidateIndex = prefs.findIndex((p) => u < p)
    if (candidateIndex < 0) candidateIndex = prefs.length - 1
    const c = uniform(seed, k, 2)
    const channel: Channel = c < 0.2 ? 'mail' : c < 0.45 ? 'early' : 'election_day'
    return { voterIndex, regionIndex, candidateIndex, channel, ballotId: uuidFor(this.idSeed, k, 0) }
  }

  /** Every message that ballot k brings: the valid ballot, then any injected ones. */
  messagesFor(k: number, castAt: string): GeneratedMessage[] {
    const { seed, invalidShare, duplicateShare } = this.plan.settings
    const { electionId, candidates, regions } = this.plan
    const b = this.validBallot(k)
    const voter = voterId(b.voterIndex)
    const ballot: Ballot = {
      v: 1,
      ballotId: b.ballotId,
      electionId,
      voterId: voter,
      candidateId: candidates[b.candidateIndex]?.id ?? '',
      regionId: regions[b.regionIndex]?.id ?? '',
      channel: b.channel,
      castAt,
    }
    const out: GeneratedMessage[] = [{ kind: 'valid', key: voter, ballot }]
    if (uniform(seed, k, 3) < duplicateShare) {
      const other = candidates[(b.candidateIndex + 1) % candidates.length]?.id ?? ballot.candidateId
      out.push({ kind: 'duplicate_voter', key: voter, ballot: { ...ballot, ballotId: uuidFor(this.idSeed, k, 1), candidateId: other } })
    }
    if (uniform(seed, k, 4) < invalidShare) {
      const kind = INJECTED_KINDS[Math.floor(uniform(seed, k, 5) * INJECTED_KINDS.length)] ?? 'malformed'
      const bad = { ...ballot, ballotId: uuidFor(this.idSeed, k, 2) }
      switch (kind) {
        case 'malformed':
          out.push({ kind, key: voter, raw: `{"v":1,"ballotId":"${bad.ballotId}","electionId":"${electionId}",` })
          break
        case 'invalid_schema':
          out.push({ kind, key: voter, raw: JSON.stringify({ ...bad, candidateId: undefined, v: 1 }) })
          break
        case 'unknown_candidate':
          out.push({ kind, key: voter, ballot: { ...bad, candidateId: 'write-in-unknown' } })
          break
        case 'unknown_region':
          out.push({ kind, key: voter, ballot: { ...bad, regionId: 'atlantis' } })
          break
        case 'voter_not_registered':
          out.push({ kind, key: `x${k}`, ballot: { ...bad, voterId: `x${k.toString(36)}` } })
          break
        case 'wrong_region': {
          if (regions.length < 2) {
            out.push({ kind: 'unknown_region', key: voter, ballot: { ...bad, regionId: 'atlantis' } })
            break
          }
          const wrong = regions[(b.regionIndex + 1) % regions.length]?.id ?? ballot.regionId
          out.push({ kind, key: voter, ballot: { ...bad, regionId: wrong } })
          break
        }
      }
    }
    return out
  }

  /** The valid ballots the generator will send, per region id: what a simulated election can still bring. */
  plannedPerRegion(): Map<string, number> {
    const counts = this.plan.regions.map(() => 0)
    for (let k = 0; k < this.ballotCount; k++) {
      const r = this.regionIndexOf(this.voterIndex(k))
      counts[r] = (counts[r] ?? 0) + 1
    }
    return new Map(this.plan.regions.map((r, i) => [r.id, counts[i] ?? 0]))
  }

  /** What ballots [0, produced) must count to: votes per candidate and region, and rejections by reason. */
  groundTruth(produced: number): { votes: Map<string, number>; rejections: Map<RejectionReason, number> } {
    const votes = new Map<string, number>()
    const rejections = new Map<RejectionReason, number>()
    for (let k = 0; k < Math.min(produced, this.ballotCount); k++) {
      for (const m of this.messagesFor(k, '')) {
        if (m.kind === 'valid') {
          const key = `${m.ballot.candidateId}|${m.ballot.regionId}`
          votes.set(key, (votes.get(key) ?? 0) + 1)
        } else {
          rejections.set(m.kind, (rejections.get(m.kind) ?? 0) + 1)
        }
      }
    }
    return { votes, rejections }
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}
