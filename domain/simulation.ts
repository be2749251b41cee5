import type { AnyBallot, Ballot, BallotV2, Channel, Marks, RejectionReason } from './ballot.ts'
import { BALLOTS_KEY, type ElectionDefinitionInput, electionDefinitionSchema, resolveDefinition } from './contests.ts'
import type { Candidate, Region } from './election.ts'
import type { SimulationSettings } from './election-settings.ts'
import { AppError } from './errors.ts'
import { hmacSha256Hex } from './sha256.ts'
import { generateDefinition, generateRankedDefinition, markBallot, regionsFromGeography } from './simulation-contests.ts'
import { candidatesFor, type Geography, geography } from './simulation-geography.ts'
import { SIMULATION_LIMITS as L } from './simulation-limits.ts'
import { apportion, hashString, mix, normal, permute, uniform } from './simulation-random.ts'
import { indexDefinition, type TabulationIndex, tabulateBallot } from './tabulation.ts'

/**
 * A seeded, deterministic election generator. Everything about ballot number `k` is a
 * pure function of (plan, k), so any range of ballots can be produced again, byte for byte
 * but for `castAt`, and a retried producer repeats exactly what it sent before: the ballot
 * ids are the same, so nothing is counted twice.
 *
 * The country (simulation-geography.ts): states → counties → precincts; each precinct is a
 * region, more or less urban. From the seed and that geography the generator draws, per
 * precinct, its turnout, how its voters split between early, election-day and mail voting,
 * how each channel leans between the candidates, and when the precinct reports. So results
 * differ by place, and the order ballots arrive in is not a fair sample of the whole.
 *
 * The roll: `voters` registered voters in contiguous blocks per region (the plan's
 * `registeredVoters`). Region r casts exactly `planned[r]` ballots (turnout drawn per
 * region, scaled so the total is floor(voters × turnout)), split by channel.
 *
 * The order of k (the order ballots are sent and counted): three phases, early ballots,
 * then election-day ballots, then mail ballots. Each phase is cut into buckets (time
 * slices); each region spreads each channel's ballots evenly over its own window of that
 * phase's buckets (in the election-day phase rural precincts tend to report first, cities
 * last; mail is counted in batches at the end). Within a bucket the ballots of every region
 * reporting then are shuffled by a keyed permutation. So ballot k is found by a binary
 * search over buckets, one permutation and a binary search over the bucket's (region,
 * channel) entries: O(log n), no per-ballot state. Entry → the q-th ballot of region r →
 * voter `start[r] + (step[r]·q + offset[r]) mod registered[r]`, a bijection of the region's
 * block: no voter casts two valid ballots, and every voter is on the roll of the region
 * the ballot names. After ballot k the generator may inject a duplicate (the same voter
 * again, another ballot id) or an invalid ballot of some kind.
 */

/** Its one definition, a zod schema, is stored with the election: domain/election-settings.ts. */
export type { SimulationSettings }

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
  | { kind: 'valid'; key: string; ballot: AnyBallot; raw?: undefined }
  | { kind: 'duplicate_voter'; key: string; ballot: AnyBallot; raw?: undefined }
  | { kind: (typeof INJECTED_KINDS)[number]; key: string; ballot?: AnyBallot; raw?: string }

/** The definition of a simulated election with contests: a pure function of its seed, its number of regions and its kind of ballot. */
export function simulatedDefinition(seed: number, regionCount: number, ballot: 'long' | 'ranked' = 'long'): ElectionDefinitionInput {
  const regions = regionsFromGeography(geography(seed, regionCount))
  return ballot === 'ranked' ? generateRankedDefinition(seed, regions) : generateDefinition(seed, regions)
}

/** The kind of ballot a simulation's settings ask for, when they ask for contests. */
export function simulatedBallot(settings: Pick<SimulationSettings, 'contests'>): 'long' | 'ranked' {
  return settings.contests === 'ranked' ? 'ranked' : 'long'
}

/** The line of a contest's count a truth or recount cell is about: a selection, or one of these. */
export const CONTEST_LINES = { ballots: ':ballots', undervotes: ':undervotes', overvotes: ':overvotes' } as const

/** The order the channels arrive in: ballot k's channel never goes back in this list. */
export const CHANNEL_ORDER = ['early', 'election_day', 'mail'] as const satisfies readonly Channel[]

/** Time slices per phase (early, election day, mail): how finely reporting times are told apart. */
const BUCKETS = [16, 64, 24] as const

/** A plan with generated candidates and a generated geography, sized to `settings.voters`. */
export function defaultPlan(
  electionId: string,
  settings: SimulationSettings,
  counts: { candidates?: number; regions?: number } = {},
): SimulationPlan {
  const candidates = candidatesFor(clamp(counts.candidates ?? L.candidates.default, L.candidates.min, L.candidates.max))
  const geo = geography(settings.seed, clamp(counts.regions ?? L.regions.default, L.regions.min, L.regions.max))
  const sizes = apportion(
    settings.voters,
    geo.precincts.map((p) => p.weight),
    1,
  )
  const regions = geo.precincts.map((p, i) => ({
    id: p.id,
    name: p.name,
    state: geo.states[p.state]?.name ?? '',
    county: geo.counties[p.county]?.name,
    registeredVoters: sizes[i] ?? 0,
    lat: p.lat,
    lon: p.lon,
  }))
  return { electionId, settings, candidates, regions }
}

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.floor(n)))

export function voterId(index: number): string {
  return `v${index.toString(36).padStart(6, '0')}`
}

// Hex by table: the generator makes an id per ballot, and toString(16) + padStart was a
// third of its CPU at 30,000 ballots/s.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const hex2 = (n: number) => HEX[n & 0xff] as string
const hex8 = (n: number) => hex2(n >>> 24) + hex2(n >>> 16) + hex2(n >>> 8) + hex2(n)

/**
 * Ballot k's id: unique per (election seed, k, salt) and ordered by k within an election, so
 * PostgreSQL's ballot-id index takes each insert near the last one instead of at a random
 * leaf (which, once the index outgrew memory, cost a read per ballot). Layout, shaped as a
 * version-4 UUID so every consumer's check accepts it: 32 bits of the election's seed,
 * k in 28 bits around the version nibble, the variant with the salt, then 60 bits of hash.
 */
function uuidFor(seed: number, k: number, salt: number): string {
  const b = mix(k * 7 + salt)
  const high = Math.floor(k / 4096) & 0xffff
  const low = k & 0xfff
  const variant = (8 | (salt & 3)).toString(16)
  const h2 = hex8(mix(mix(seed + 3) ^ b))
  const h3 = hex8(mix(mix(seed + 4) ^ b))
  return `${hex8(seed >>> 0)}-${hex2(high >>> 8)}${hex2(high)}-4${hex2(low >>> 8).slice(1)}${hex2(low)}-${variant}${h2.slice(1, 4)}-${h2.slice(4, 8)}${h3}`
}

// Salts of the model's draws (the geography has its own, below 100; per ballot: 1..5).
const M = {
  tilt: 101,
  flip: 102,
  minorBase: 103,
  minorAxis: 104,
  minorChannel: 105,
  stateLean: 106,
  countyLean: 107,
  precinctLean: 108,
  stateTaste: 109,
  countyTaste: 110,
  precinctTaste: 111,
  stateTurnout: 121,
  countyTurnout: 122,
  precinctTurnout: 123,
  stateEarly: 131,
  stateMail: 132,
  countyEarly: 133,
  countyMail: 134,
  precinctEarly: 135,
  precinctMail: 136,
  earlyFrom: 141,
  earlyTo: 142,
  dayFrom: 143,
  countyDayFrom: 144,
  daySpan: 145,
  mailFrom: 146,
  mailSpan: 147,
  voterStep: 151,
  voterOffset: 152,
  order: 161,
} as const

/** Per ballot: which candidate, then duplicate?, invalid?, which invalid kind. */
const K = { candidate: 1, duplicate: 3, invalid: 4, kind: 5 } as const
const MISREAD_SALT = 0x6d15ead

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

/** What the generator drew for one region (for tests and tools; the ballots follow from it). */
export interface RegionProfile {
  /** Valid ballots the region casts, per channel in CHANNEL_ORDER. */
  ballots: [number, number, number]
  /** The expected share of each candidate, per channel in CHANNEL_ORDER. */
  shares: [number[], number[], number[]]
  /** When the region starts and stops reporting, per channel, as fractions of that channel's phase. */
  window: [[number, number], [number, number], [number, number]]
}

/** The generator for one plan; cheap to build (O(regions × buckets)), pure to call. */
export class Simulation {
  readonly ballotCount: number
  /** Where each channel's ballots lie in k: early in [0, a), election day in [a, b), mail in [b, ballotCount). */
  readonly channelRanges: Record<(typeof CHANNEL_ORDER)[number], { from: number; to: number }>
  private readonly regionEnds: number[]
  private readonly regionStart: Float64Array
  private readonly planned: Float64Array
  /** Ballots per region and channel, at [r * 3 + ch]. */
  private readonly perChannel: Float64Array
  private readonly voterStep: Float64Array
  private readonly voterOffset: Float64Array
  /** Cumulative candidate shares per (region, channel), at [(r * 3 + ch) * C + c]. */
  private readonly preferences: Float64Array
  private readonly windows: Float64Array
  /** Bucket g holds ballots [bucketStart[g], bucketStart[g + 1]) and entries [entryFrom[g], entryFrom[g + 1]). */
  private readonly bucketStart: Float64Array
  private readonly entryFrom: Int32Array
  private readonly entryRegion: Int32Array
  private readonly entryChannel: Uint8Array
  /** The region's ballot number (its q) of the entry's first ballot. */
  private readonly entryQ: Float64Array
  /** Where the entry starts inside its bucket's (shuffled) positions. */
  private readonly entryAt: Float64Array
  private readonly orderKey: number
  /** The seed of ballot ids: the generator's seed and the election's id. */
  private readonly idSeed: number
  /** The papers' imprints: HMAC under the plan's imprint key (none without one). */
  private readonly imprintMac: ((message: Uint8Array) => string) | null
  /** An election with contests: its definition, indexed for marking and tabulating ballots. */
  readonly contests: TabulationIndex | null

  constructor(readonly plan: SimulationPlan) {
    const { voters, turnout, seed } = plan.settings
    if (plan.regions.reduce((s, r) => s + r.registeredVoters, 0) !== voters) {
      throw new Error("the regions' registered voters must add up to settings.voters")
    }
    this.ballotCount = Math.max(0, Math.floor(voters * turnout))
    this.idSeed = mix(seed ^ hashString(plan.electionId))
    this.imprintMac = plan.settings.imprintKey ? hmacSha256Hex(plan.settings.imprintKey) : null
    this.contests = plan.settings.contests ? indexSimulated(seed, plan.regions, simulatedBallot(plan.settings)) : null
    checkMisread(plan.settings.misread, this.contests)
    this.orderKey = mix(seed ^ Math.imul(M.order, 0x9e3779b1))
    const R = plan.regions.length
    const C = plan.candidates.length
    // The geography is derived again from (seed, number of regions): a stored plan has no counties.
    const geo = geography(seed, R)

    // The roll: contiguous blocks, in the plan's order.
    let end = 0
    this.regionEnds = plan.regions.map((r) => (end += r.registeredVoters))
    this.regionStart = Float64Array.from(plan.regions, (_, r) => (this.regionEnds[r] ?? 0) - (plan.regions[r]?.registeredVoters ?? 0))

    // Turnout: a logit per region (urban places vote less), shifted so the total is exact.
    const registered = plan.regions.map((r) => r.registeredVoters)
    const logits = geo.precincts.map((p, r) => {
      return (
        0.3 * normal(seed, p.state, M.stateTurnout) +
        0.3 * normal(seed, p.county, M.countyTurnout) +
        0.2 * normal(seed, r, M.precinctTurnout) -
        0.6 * (p.urbanity - 0.4)
      )
    })
    this.planned = Float64Array.from(allocateTurnout(this.ballotCount, registered, logits))

    // Channels: each state has its habits (some vote mostly by mail), counties and cities vary.
    this.perChannel = new Float64Array(R * 3)
    for (let r = 0; r < R; r++) {
      const p = geo.precincts[r] ?? fallbackPrecinct
      // A channel's weight against election day (1): a base, then the state's, the county's
      // and the precinct's habits, then a pull with urbanity.
      const weight = (base: number, spread: [number, number, number], keys: [number, number, number], urban: number) =>
        Math.exp(
          base +
            spread[0] * normal(seed, p.state, keys[0]) +
            spread[1] * normal(seed, p.county, keys[1]) +
            spread[2] * normal(seed, r, keys[2]) +
            urban * (p.urbanity - 0.5),
        )
      const early = weight(-0.35, [0.5, 0.25, 0.1], [M.stateEarly, M.countyEarly, M.precinctEarly], 0.3)
      const mail = weight(-1, [0.8, 0.25, 0.1], [M.stateMail, M.countyMail, M.precinctMail], 0.2)
      const total = early + 1 + mail
      const b = this.planned[r] ?? 0
      const e = Math.round((b * early) / total)
      const m = Math.min(b - e, Math.round((b * mail) / total))
      this.perChannel[r * 3] = e
      this.perChannel[r * 3 + 1] = b - e - m
      this.perChannel[r * 3 + 2] = m
    }

    this.preferences = drawPreferences(seed, geo, C)

    // Reporting windows per region and channel, as fractions of the channel's phase.
    this.windows = new Float64Array(R * 6)
    for (let r = 0; r < R; r++) {
      const p = geo.precincts[r] ?? fallbackPrecinct
      const w = (ch: number, from: number, to: number) => {
        const a = Math.min(0.95, Math.max(0, from))
        this.windows[r * 6 + ch * 2] = a
        this.windows[r * 6 + ch * 2 + 1] = Math.min(1, Math.max(a + 0.02, to))
      }
      // Early ballots: counted first, nearly everywhere at once.
      w(0, 0.25 * uniform(seed, r, M.earlyFrom), 1 - 0.25 * uniform(seed, r, M.earlyTo))
      // Election day: small rural precincts report first, cities late, counties in their own rhythm.
      const dayFrom = 0.02 + 0.55 * p.urbanity + 0.12 * normal(seed, p.county, M.countyDayFrom) + 0.08 * normal(seed, r, M.dayFrom)
      w(1, dayFrom, Math.max(0, dayFrom) + 0.08 + 0.3 * uniform(seed, r, M.daySpan))
      // Mail: counted last, in batches, cities later.
      const mailFrom = 0.5 * uniform(seed, r, M.mailFrom) + 0.25 * p.urbanity
      w(2, mailFrom, mailFrom + 0.15 + 0.3 * uniform(seed, r, M.mailSpan))
    }

    // The voters of each region, in a keyed order: q → start + (step·q + offset) mod size.
    this.voterStep = new Float64Array(R)
    this.voterOffset = new Float64Array(R)
    for (let r = 0; r < R; r++) {
      const size = registered[r] ?? 0
      if (size <= 1) {
        this.voterStep[r] = 1
        continue
      }
      let step = (mix(seed ^ mix(r ^ Math.imul(M.voterStep, 0x9e3779b1))) % (size - 1)) + 1
      while (gcd(step, size) !== 1) step = step === size - 1 ? 1 : step + 1
      this.voterStep[r] = step
      this.voterOffset[r] = mix(seed ^ mix(r ^ Math.imul(M.voterOffset, 0x9e3779b1))) % size
    }

    // The buckets: phase by phase, each region's ballots of the phase's channel spread evenly
    // over its window of the phase's buckets.
    const buckets = BUCKETS[0] + BUCKETS[1] + BUCKETS[2]
    this.bucketStart = new Float64Array(buckets + 1)
    this.entryFrom = new Int32Array(buckets + 1)
    const region: number[] = []
    const channel: number[] = []
    const qs: number[] = []
    const at: number[] = []
    const ranges = { from: [0, 0, 0], to: [0, 0, 0] }
    let g = 0
    let k = 0
    for (let ch = 0; ch < 3; ch++) {
      const B = BUCKETS[ch as 0 | 1 | 2]
      ranges.from[ch] = k
      const firstBucket = new Int32Array(R)
      const lastBucket = new Int32Array(R)
      for (let r = 0; r < R; r++) {
        const a = Math.min(B - 1, Math.floor((this.windows[r * 6 + ch * 2] ?? 0) * B))
        firstBucket[r] = a
        lastBucket[r] = Math.max(a + 1, Math.min(B, Math.ceil((this.windows[r * 6 + ch * 2 + 1] ?? 1) * B)))
      }
      for (let i = 0; i < B; i++, g++) {
        this.bucketStart[g] = k
        this.entryFrom[g] = region.length
        let size = 0
        for (let r = 0; r < R; r++) {
          const n = this.perChannel[r * 3 + ch] ?? 0
          const a = firstBucket[r] ?? 0
          const b = lastBucket[r] ?? 0
          if (n === 0 || i < a || i >= b) continue
          const span = b - a
          const before = Math.floor((n * (i - a)) / span)
          const count = Math.floor((n * (i - a + 1)) / span) - before
          if (count === 0) continue
          region.push(r)
          channel.push(ch)
          qs.push(this.channelStartOf(r, ch) + before)
          at.push(size)
          size += count
        }
        k += size
      }
      ranges.to[ch] = k
    }
    this.bucketStart[buckets] = k
    this.entryFrom[buckets] = region.length
    if (k !== this.ballotCount) throw new Error(`internal: scheduled ${k} ballots, planned ${this.ballotCount}`)
    this.entryRegion = Int32Array.from(region)
    this.entryChannel = Uint8Array.from(channel)
    this.entryQ = Float64Array.from(qs)
    this.entryAt = Float64Array.from(at)
    this.channelRanges = {
      early: { from: ranges.from[0] ?? 0, to: ranges.to[0] ?? 0 },
      election_day: { from: ranges.from[1] ?? 0, to: ranges.to[1] ?? 0 },
      mail: { from: ranges.from[2] ?? 0, to: ranges.to[2] ?? 0 },
    }
  }

  /** The first q (the region's ballot number) of channel `ch` in region r: early, then election day, then mail. */
  private channelStartOf(r: number, ch: number): number {
    let q = 0
    for (let c = 0; c < ch; c++) q += this.perChannel[r * 3 + c] ?? 0
    return q
  }

  /** Ballot k's entry (region, channel) and the region's ballot number q, in O(log n). */
  private locate(k: number): { entry: number; q: number } {
    if (!(k >= 0 && k < this.ballotCount && Number.isInteger(k))) {
      throw new RangeError(`ballot ${k} is outside [0, ${this.ballotCount})`)
    }
    const starts = this.bucketStart
    let lo = 0
    let hi = starts.length - 2
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((starts[mid + 1] ?? 0) > k) hi = mid
      else lo = mid + 1
    }
    const from = starts[lo] ?? 0
    const p = permute(k - from, (starts[lo + 1] ?? 0) - from, this.orderKey ^ Math.imul(lo + 1, 0x9e3779b1))
    const at = this.entryAt
    let a = this.entryFrom[lo] ?? 0
    let b = (this.entryFrom[lo + 1] ?? 0) - 1
    while (a < b) {
      const mid = (a + b + 1) >> 1
      if ((at[mid] ?? 0) <= p) a = mid
      else b = mid - 1
    }
    return { entry: a, q: (this.entryQ[a] ?? 0) + p - (at[a] ?? 0) }
  }

  /** Region, channel (index in CHANNEL_ORDER) and candidate of ballot k, without building anything. */
  private facts(k: number): { regionIndex: number; channelIndex: number; candidateIndex: number; q: number } {
    const { entry, q } = this.locate(k)
    const regionIndex = this.entryRegion[entry] ?? 0
    const channelIndex = this.entryChannel[entry] ?? 0
    const C = this.plan.candidates.length
    const base = (regionIndex * 3 + channelIndex) * C
    const u = uniform(this.plan.settings.seed, k, K.candidate)
    let candidateIndex = 0
    while (candidateIndex < C - 1 && u >= (this.preferences[base + candidateIndex] ?? 1)) candidateIndex++
    return { regionIndex, channelIndex, candidateIndex, q }
  }

  private voterOf(regionIndex: number, q: number): number {
    const size = this.plan.regions[regionIndex]?.registeredVoters ?? 1
    return (this.regionStart[regionIndex] ?? 0) + (((this.voterStep[regionIndex] ?? 1) * q + (this.voterOffset[regionIndex] ?? 0)) % size)
  }

  voterIndex(k: number): number {
    const { entry, q } = this.locate(k)
    return this.voterOf(this.entryRegion[entry] ?? 0, q)
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
    const f = this.facts(k)
    return {
      voterIndex: this.voterOf(f.regionIndex, f.q),
      regionIndex: f.regionIndex,
      candidateIndex: f.candidateIndex,
      channel: CHANNEL_ORDER[f.channelIndex] ?? 'election_day',
      ballotId: uuidFor(this.idSeed, k, 0),
    }
  }

  /**
   * Ballot k's paper: the marks the generator drew, before any injected misread. An audit
   * of a simulated election reads these, as auditors read the paper ballot in its box.
   */
  paper(k: number): Marks | null {
    const index = this.contests
    if (!index || k < 0 || k >= this.ballotCount) return null
    const b = this.validBallot(k)
    return markBallot(this.plan.settings.seed, k, index, this.plan.regions[b.regionIndex]?.id ?? '', b.channel)
  }

  /** Ballot k's paper with the region it was cast in: where its contests (its style) come from. */
  paperAt(k: number): { regionId: string; marks: Marks } | null {
    const marks = this.paper(k)
    if (!marks) return null
    return { regionId: this.plan.regions[this.validBallot(k).regionIndex]?.id ?? '', marks }
  }

  /**
   * The ids of the valid ballots [from, to) with their numbers k: an audit finds a counted
   * ballot's paper by its id (ids are drawn from the seed, so this is the only way back).
   */
  *ballotIds(from = 0, to = this.ballotCount): Generator<[string, number]> {
    for (let k = Math.max(0, from); k < Math.min(to, this.ballotCount); k++) yield [uuidFor(this.idSeed, k, 0), k]
  }

  /**
   * Ballot k's imprint: what the scanner printed on its paper, carried with its marks into
   * the ballot box for a comparison audit; null when the plan has no imprint key (elections
   * created before imprints). HMAC-SHA-256 of k under the plan's random key, 96 bits of it:
   * not in casting order, and not computable from anything public or from the ballot ids
   * (which carry the seed and k). Repeats are possible in principle (2^-96 a pair); the
   * audit refuses a box with one.
   */
  imprint(k: number): string | null {
    if (!this.imprintMac) return null
    const n = new Uint8Array(8)
    new DataView(n.buffer).setFloat64(0, k)
    const tag = this.imprintMac(n)
    return `${tag.slice(0, 8)}-${tag.slice(8, 16)}-${tag.slice(16, 24)}`
  }

  /**
   * The numbers k in [0, produced) of the papers with these imprints: how an audit board finds
   * the paper a cast vote record names (one pass over the generator's ballots).
   */
  papersByImprint(imprints: Iterable<string>, produced: number): Map<string, number> {
    const wanted = new Set(imprints)
    const found = new Map<string, number>()
    if (!this.imprintMac) return found
    for (let k = 0; k < Math.min(produced, this.ballotCount) && found.size < wanted.size; k++) {
      const imprint = this.imprint(k) as string
      if (wanted.has(imprint)) found.set(imprint, k)
    }
    return found
  }

  /** The marks as the count receives them: the paper, unless the plan injects a misread that takes this ballot. */
  private marksAsRead(k: number, marks: Marks): Marks {
    const m = this.plan.settings.misread
    if (!m) return marks
    const marked = marks[m.contestId]
    if (!marked?.includes(m.from) || marked.includes(m.to)) return marks
    // A stream of its own: uniform(seed, k, s) is also the s-th draw markBallot makes for ballot k.
    if (!(uniform(mix(this.plan.settings.seed ^ MISREAD_SALT), k, 1) < m.share)) return marks
    return { ...marks, [m.contestId]: marked.map((x) => (x === m.from ? m.to : x)) }
  }

  /** Whether ballot k is followed by a second attempt of its voter. */
  private duplicates(k: number): boolean {
    return uniform(this.plan.settings.seed, k, K.duplicate) < this.plan.settings.duplicateShare
  }

  /** The invalid ballot injected after ballot k, if any. */
  private injected(k: number): (typeof INJECTED_KINDS)[number] | null {
    const { seed, invalidShare } = this.plan.settings
    if (!(uniform(seed, k, K.invalid) < invalidShare)) return null
    const kind = INJECTED_KINDS[Math.floor(uniform(seed, k, K.kind) * INJECTED_KINDS.length)] ?? 'malformed'
    // A single region has no other region to be wrong about.
    return kind === 'wrong_region' && this.plan.regions.length < 2 ? 'unknown_region' : kind
  }

  /** Every message that ballot k brings: the valid ballot, then any injected ones. */
  messagesFor(k: number, castAt: string): GeneratedMessage[] {
    const { electionId, candidates, regions } = this.plan
    const b = this.validBallot(k)
    const voter = voterId(b.voterIndex)
    const regionId = regions[b.regionIndex]?.id ?? ''
    const common = { ballotId: b.ballotId, electionId, voterId: voter, regionId, channel: b.channel, castAt }
    const index = this.contests
    const ballot: AnyBallot = index
      ? {
          v: 2,
          ...common,
          marks: this.marksAsRead(k, markBallot(this.plan.settings.seed, k, index, regionId, b.channel)),
          ...(this.imprintMac ? { imprint: this.imprint(k) as string } : {}),
        }
      : { v: 1, ...common, candidateId: candidates[b.candidateIndex]?.id ?? '' }
    const out: GeneratedMessage[] = [{ kind: 'valid', key: voter, ballot }]
    if (this.duplicates(k)) {
      const again: AnyBallot =
        ballot.v === 2
          ? { ...ballot, ballotId: uuidFor(this.idSeed, k, 1) }
          : {
              ...ballot,
              ballotId: uuidFor(this.idSeed, k, 1),
              candidateId: candidates[(b.candidateIndex + 1) % candidates.length]?.id ?? ballot.candidateId,
            }
      out.push({ kind: 'duplicate_voter', key: voter, ballot: again })
    }
    const kind = this.injected(k)
    if (kind) {
      const bad = { ...ballot, ballotId: uuidFor(this.idSeed, k, 2) }
      switch (kind) {
        case 'malformed':
          out.push({ kind, key: voter, raw: `{"v":${ballot.v},"ballotId":"${bad.ballotId}","electionId":"${electionId}",` })
          break
        case 'invalid_schema':
          out.push({ kind, key: voter, raw: JSON.stringify({ ...bad, candidateId: undefined, marks: undefined }) })
          break
        case 'unknown_candidate':
          // On a long ballot: a selection the contest does not have (rejected as unknown_selection).
          out.push({ kind, key: voter, ballot: withUnknownSelection(bad, index) })
          break
        case 'unknown_region':
          out.push({ kind, key: voter, ballot: { ...bad, regionId: 'atlantis' } })
          break
        case 'voter_not_registered':
          out.push({ kind, key: `x${k}`, ballot: { ...bad, voterId: `x${k.toString(36)}` } })
          break
        case 'wrong_region': {
          const wrong = regions[(b.regionIndex + 1) % regions.length]?.id ?? regionId
          // Marked for the other region's ballot, so the roll is what refuses it.
          const marks = index && bad.v === 2 ? { marks: markBallot(this.plan.settings.seed, k, index, wrong, b.channel) } : {}
          out.push({ kind, key: voter, ballot: { ...bad, regionId: wrong, ...marks } })
          break
        }
      }
    }
    return out
  }

  /** The reason the counter gives an injected message of this kind. */
  reasonFor(kind: (typeof INJECTED_KINDS)[number]): RejectionReason {
    return kind === 'unknown_candidate' && this.contests ? 'unknown_selection' : kind
  }

  /**
   * What ballots [0, produced) must count to in every contest: per `contest|line|region|channel`,
   * where a line is a selection (the write-in line included) or one of CONTEST_LINES.
   */
  contestTruth(produced: number): Map<string, number> {
    const truth = new Map<string, number>()
    this.addContestTruth(0, Math.min(produced, this.ballotCount), truth)
    return truth
  }

  /**
   * Adds the truth of ballots from..to-1 to `truth`: a million long ballots take minutes of
   * CPU, so a caller that must stay responsive (an activity that heartbeats) goes a chunk
   * at a time and yields between chunks.
   */
  addContestTruth(from: number, to: number, truth: Map<string, number>): void {
    const index = this.contests
    if (!index) return
    const add = (key: string, n: number) => {
      if (n > 0) truth.set(key, (truth.get(key) ?? 0) + n)
    }
    for (let k = from; k < Math.min(to, this.ballotCount); k++) {
      const b = this.validBallot(k)
      const regionId = this.plan.regions[b.regionIndex]?.id ?? ''
      const judged = tabulateBallot(
        index,
        regionId,
        this.marksAsRead(k, markBallot(this.plan.settings.seed, k, index, regionId, b.channel)),
      )
      if (!judged.ok) throw new Error(`the generator's ballot ${k} does not tabulate: ${judged.detail}`)
      for (const c of judged.contests) {
        const cell = `|${regionId}|${b.channel}`
        add(`${c.contestId}|${CONTEST_LINES.ballots}${cell}`, 1)
        add(`${c.contestId}|${CONTEST_LINES.undervotes}${cell}`, c.undervotes)
        add(`${c.contestId}|${CONTEST_LINES.overvotes}${cell}`, c.overvoted)
        for (const sel of c.selections) add(`${c.contestId}|${sel}${cell}`, 1)
      }
    }
  }

  /** The valid ballots the generator will send, per region id: what a simulated election can still bring. */
  plannedPerRegion(): Map<string, number> {
    return new Map(this.plan.regions.map((r, i) => [r.id, this.planned[i] ?? 0]))
  }

  /** What the generator drew for region r: ballots per channel, expected shares per channel, reporting windows. */
  regionProfile(r: number): RegionProfile {
    const C = this.plan.candidates.length
    const shares = [0, 1, 2].map((ch) => {
      const base = (r * 3 + ch) * C
      return Array.from({ length: C }, (_, c) => (this.preferences[base + c] ?? 1) - (c === 0 ? 0 : (this.preferences[base + c - 1] ?? 0)))
    }) as RegionProfile['shares']
    const window = [0, 1, 2].map((ch) => [
      this.windows[r * 6 + ch * 2] ?? 0,
      this.windows[r * 6 + ch * 2 + 1] ?? 1,
    ]) as RegionProfile['window']
    const ballots = [0, 1, 2].map((ch) => this.perChannel[r * 3 + ch] ?? 0) as RegionProfile['ballots']
    return { ballots, shares, window }
  }

  /** Counts ballots [0, produced): valid votes at [(region * C + candidate) * 3 + channel], rejections by reason. */
  private tally(produced: number): { cube: Float64Array; rejections: Map<RejectionReason, number> } {
    const C = this.plan.candidates.length
    const cube = new Float64Array(this.plan.regions.length * C * 3)
    const rejections = new Map<RejectionReason, number>()
    const n = Math.min(produced, this.ballotCount)
    for (let k = 0; k < n; k++) {
      const f = this.facts(k)
      const cell = (f.regionIndex * C + f.candidateIndex) * 3 + f.channelIndex
      cube[cell] = (cube[cell] ?? 0) + 1
      if (this.duplicates(k)) rejections.set('duplicate_voter', (rejections.get('duplicate_voter') ?? 0) + 1)
      const kind = this.injected(k)
      if (kind) rejections.set(this.reasonFor(kind), (rejections.get(this.reasonFor(kind)) ?? 0) + 1)
    }
    return { cube, rejections }
  }

  /** What ballots [0, produced) must count to: votes per candidate and region (`candidate|region`), and rejections by reason. */
  groundTruth(produced: number): { votes: Map<string, number>; rejections: Map<RejectionReason, number> } {
    const { cube, rejections } = this.tally(produced)
    const votes = new Map<string, number>()
    this.eachCell(cube, (candidate, region, _channel, n) => {
      const key = `${candidate}|${region}`
      votes.set(key, (votes.get(key) ?? 0) + n)
    })
    return { votes, rejections }
  }

  /** The same truth split by channel: votes per `candidate|region|channel`, and rejections by reason. */
  groundTruthByChannel(produced: number): { votes: Map<string, number>; rejections: Map<RejectionReason, number> } {
    const { cube, rejections } = this.tally(produced)
    const votes = new Map<string, number>()
    this.eachCell(cube, (candidate, region, channel, n) => {
      const key = `${candidate}|${region}|${channel}`
      votes.set(key, (votes.get(key) ?? 0) + n)
    })
    return { votes, rejections }
  }

  /** Calls `f` for every non-zero cell of a tally, in region, candidate, channel order. */
  private eachCell(cube: Float64Array, f: (candidate: string, region: string, channel: Channel, n: number) => void) {
    const { candidates, regions } = this.plan
    const C = candidates.length
    for (let r = 0; r < regions.length; r++) {
      for (let c = 0; c < C; c++) {
        for (let ch = 0; ch < 3; ch++) {
          const n = cube[(r * C + c) * 3 + ch] ?? 0
          // A long ballot counts in the one-contest rows as a ballot, whoever it chose (BALLOTS_KEY).
          const key = this.contests ? BALLOTS_KEY : (candidates[c]?.id ?? '')
          if (n > 0) f(key, regions[r]?.id ?? '', CHANNEL_ORDER[ch] ?? 'election_day', n)
        }
      }
    }
  }
}

const fallbackPrecinct = { state: 0, county: 0, urbanity: 0.5 }

/**
 * Ballots per region: `total` split in proportion to registered × sigmoid(logit + shift),
 * the one shift that makes the expected total `total`, and never more than a region's roll.
 */
function allocateTurnout(total: number, registered: number[], logits: number[]): number[] {
  const sum = registered.reduce((s, n) => s + n, 0)
  if (total >= sum) return registered.slice()
  if (total <= 0) return registered.map(() => 0)
  const expected = (shift: number) => registered.reduce((s, n, r) => s + n * sigmoid((logits[r] ?? 0) + shift), 0)
  let lo = -60
  let hi = 60
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (expected(mid) < total) lo = mid
    else hi = mid
  }
  const shift = (lo + hi) / 2
  return apportion(
    total,
    registered.map((n, r) => n * sigmoid((logits[r] ?? 0) + shift)),
    0,
    registered,
  )
}

/**
 * Cumulative candidate shares per (region, channel). The first two candidates are the main
 * contenders on an urban–rural axis (which of them is the urban one is drawn from the seed);
 * early and above all mail ballots lean to the urban one, election-day ballots away from it.
 * The others are smaller, with strongholds of their own. Everyone's support varies by state,
 * county and precinct.
 */
function drawPreferences(seed: number, geo: Geography, C: number): Float64Array {
  const R = geo.precincts.length
  const out = new Float64Array(R * 3 * C)
  const urbanSide = uniform(seed, 0, M.flip) < 0.5 ? 1 : -1
  const tilt = 0.15 * normal(seed, 0, M.tilt)
  const axis = Array.from({ length: C }, (_, c) => (c === 0 ? urbanSide : c === 1 ? -urbanSide : 0.3 * normal(seed, c, M.minorAxis)))
  const base = Array.from({ length: C }, (_, c) =>
    c === 0 ? tilt : c === 1 ? -tilt : -1.3 - 0.2 * (c - 2) + 0.35 * normal(seed, c, M.minorBase),
  )
  const channelShift = [0.15, -0.15, 0.5]
  const utilities = new Float64Array(C)
  for (let r = 0; r < R; r++) {
    const p = geo.precincts[r]
    if (!p) continue
    const lean =
      1.3 * (p.urbanity - 0.45) +
      0.3 * normal(seed, p.state, M.stateLean) +
      0.25 * normal(seed, p.county, M.countyLean) +
      0.15 * normal(seed, r, M.precinctLean)
    for (let ch = 0; ch < 3; ch++) {
      let max = Number.NEGATIVE_INFINITY
      for (let c = 0; c < C; c++) {
        const minor = c >= 2 ? 1 : 0.3
        const taste =
          minor *
          (0.35 * normal(seed, p.state * 16 + c, M.stateTaste) +
            0.25 * normal(seed, p.county * 16 + c, M.countyTaste) +
            0.15 * normal(seed, r * 16 + c, M.precinctTaste))
        const byChannel = c >= 2 ? 0.15 * normal(seed, c * 3 + ch, M.minorChannel) : 0
        const u = (base[c] ?? 0) + (axis[c] ?? 0) * (lean + (channelShift[ch] ?? 0)) + taste + byChannel
        utilities[c] = u
        if (u > max) max = u
      }
      let total = 0
      for (let c = 0; c < C; c++) {
        const w = Math.exp((utilities[c] ?? 0) - max)
        utilities[c] = w
        total += w
      }
      let acc = 0
      const at = (r * 3 + ch) * C
      for (let c = 0; c < C; c++) {
        acc += (utilities[c] ?? 0) / total
        out[at + c] = acc
      }
      out[at + C - 1] = 1
    }
  }
  return out
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}

/** A misread must name a contest of the simulated ballot and two of its declared selections. */
function checkMisread(misread: SimulationSettings['misread'], index: TabulationIndex | null): void {
  if (!misread) return
  const problem = (() => {
    if (!index) return ['contestId', 'a misread needs a long ballot (simulation.contests: true)']
    const selections = index.selections.get(misread.contestId)
    if (!selections) return ['contestId', `the simulated ballot has no contest ${misread.contestId}`]
    // A misread is there to be caught by an audit, and ranked contests are not audited (BRAVO tests plurality margins).
    if (index.contests.get(misread.contestId)?.rcv)
      return [
        'contestId',
        `contest ${misread.contestId} is ranked-choice: audits (and so misreads) are for plurality contests and measures`,
      ]
    if (!selections.has(misread.from)) return ['from', `contest ${misread.contestId} has no selection ${misread.from}`]
    if (!selections.has(misread.to)) return ['to', `contest ${misread.contestId} has no selection ${misread.to}`]
    if (misread.from === misread.to) return ['to', 'a misread changes a mark: from and to must differ']
    return null
  })()
  if (!problem) return
  const [field, message] = problem
  throw new AppError('invalid_input', `simulation.misread.${field}: ${message}`, [{ path: `simulation.misread.${field}`, message }])
}

function indexSimulated(seed: number, regions: Region[], ballot: 'long' | 'ranked'): TabulationIndex {
  const parsed = electionDefinitionSchema.parse(simulatedDefinition(seed, regions.length, ballot))
  const resolved = resolveDefinition(parsed, regions)
  if (!resolved.ok) throw new Error(`the simulated definition does not fit its regions: ${resolved.issues[0]?.message}`)
  return indexDefinition(resolved.resolved)
}

/** A long ballot with a mark no contest has (the first contest on its style gets 'write-in-unknown'). */
function withUnknownSelection(ballot: AnyBallot, index: TabulationIndex | null): AnyBallot {
  if (ballot.v === 1 || !index) return { ...(ballot as Ballot), candidateId: 'write-in-unknown' }
  const style = index.resolved.styleOfRegion.get(ballot.regionId) ?? ''
  const first = index.resolved.styles.get(style)?.[0] ?? ''
  return { ...(ballot as BallotV2), marks: { ...ballot.marks, [first]: ['write-in-unknown'] } }
}
