import type { Channel, Mark, Marks } from './ballot.ts'
import type { DISTRICT_LEVELS, ElectionDefinitionInput } from './contests.ts'
import type { RcvRulesInput } from './rcv/rules.ts'
import type { Geography } from './simulation-geography.ts'
import { apportion, hashString, mix, normal, permute, uniform } from './simulation-random.ts'
import type { TabulationIndex } from './tabulation.ts'

/**
 * A simulated long ballot: an election definition drawn for the simulated country, and the
 * marks of a simulated voter on it. Both are pure functions of the seed (and of the regions,
 * and of the ballot number k), so anything generated can be generated again, in any order.
 *
 * The definition (`generateDefinition`) lays districts over the precincts as a real
 * jurisdiction does: one nationwide district, a district per state, congressional and
 * state-senate districts (runs of neighbouring precincts within a state, the latter
 * smaller), school districts (they cover everything too), counties, cities inside some
 * counties and a couple of special districts (water, fire, hospital). The contests are
 * sized by a budget rather than by the map: a country of 5,000 precincts and 265 counties
 * cannot give every county and every state its full slate and keep ~150 contests, so only
 * some counties elect their officers this year (the largest: their ballots are the ones a
 * count is watched for), the local layers are capped, and whatever the local layers leave
 * out of a ballot the statewide and nationwide ones make up. From 1,000 precincts up a
 * definition holds 140–170 contests and every ballot 20–40 of them (LA County's longest
 * ballot had 152 and its voters ~30 each); a small run has fewer but never under 5 a ballot.
 * Ballot order is the usual one: candidate contests from the widest district down, then the
 * measures, in the same order.
 *
 * Some contests are ranked choice (instant runoff), as where it is used in practice (New York
 * City, San Francisco, Maine, Alaska): every city elects its mayor and one council seat so,
 * and the largest electing county its executive; 4–9 candidates (no spoilers, so more run),
 * 3–6 ranks, and rules that differ from contest to contest — New York City's for most, Maine's
 * or stricter for some, now and then an overvote or a repeated candidate that ends the ballot,
 * batch elimination, either tie-break.
 *
 * The marks (`markBallot`): a voter leans on one axis (the districts of their precinct
 * each pull it one way, so neighbours lean alike, and early and above all mail voters lean
 * one way, election-day voters the other); a candidate's party sits on that axis, and each
 * contest and precinct adds tastes of its own, so results differ by place and channel.
 * Measures start near their threshold, some above and some below. Voters leave more
 * contests blank the further down the ballot they are (~2 % on the first, ~25 % on the
 * last), mark fewer than allowed in a vote-for-N contest, now and then overvote (~0.3 %)
 * or write a name in (~1 % where there is a line for it). In a ranked contest most voters rank
 * one to three candidates (their ballots exhaust), some every rank; the order follows the
 * same lean as a first choice does; at a rank now and then a voter overvotes (~0.5 %), skips
 * (~2 %) or ranks a candidate again (~1 %). Every ballot generated is a
 * ballot of the election: it tabulates without rejection.
 */

/** A region as the definition needs it; a simulated precinct also carries its county. */
export interface DefinitionRegion {
  id: string
  state: string
  name: string
  /** Without it, the county is read from a simulated precinct's name ("Oakfield Co. P3"), else the state is one county. */
  county?: string
}

/** The regions of a simulated geography, as `generateDefinition` (and a plan) names them. */
export function regionsFromGeography(geo: Geography): DefinitionRegion[] {
  return geo.precincts.map((p) => ({
    id: p.id,
    name: p.name,
    state: geo.states[p.state]?.name ?? '',
    county: geo.counties[p.county]?.name,
  }))
}

// ---------------------------------------------------------------------------------------
// The definition
// ---------------------------------------------------------------------------------------

type Level = (typeof DISTRICT_LEVELS)[number]
type DistrictInput = ElectionDefinitionInput['districts'][number]
type ContestInput = ElectionDefinitionInput['contests'][number]
type CandidateInput = Extract<ContestInput, { type: 'candidate' }>['candidates'][number]

/** Ballot order of the levels: the widest district first. */
const LEVEL_ORDER: Record<Level, number> = {
  other: 0,
  state: 1,
  congressional: 2,
  legislative: 3,
  county: 4,
  city: 5,
  school: 6,
  special: 7,
}

/** The parties: two large ones at the ends of the axis, smaller ones with their own places on it. */
const PARTIES = [
  { name: 'Harbor', axis: 1, base: 0 },
  { name: 'Frontier', axis: -1, base: 0 },
  { name: 'Meadow', axis: 0.7, base: -1.5 },
  { name: 'Liberty', axis: -0.8, base: -1.6 },
  { name: 'Common Ground', axis: 0.05, base: -1.8 },
  { name: 'Independent', axis: 0, base: -1.3 },
] as const
const MINOR_PARTIES = ['Meadow', 'Liberty', 'Common Ground', 'Independent'] as const
const PARTY = new Map<string, { axis: number; base: number }>(PARTIES.map((p) => [p.name, p]))

const GIVEN = ['Ada', 'Alma', 'Amos', 'Bea', 'Boris', 'Cora', 'Dario', 'Edith', 'Elias', 'Farah', 'Felix', 'Greta', 'Hugo', 'Ines']
  .concat(['Ivan', 'June', 'Kofi', 'Lena', 'Luis', 'Mara', 'Milo', 'Nadia', 'Noor', 'Omar', 'Opal', 'Pavel', 'Quinn', 'Rosa'])
  .concat(['Ruben', 'Sana', 'Silas', 'Tess', 'Theo', 'Uma', 'Vera', 'Wade', 'Xenia', 'Yara', 'Yusuf', 'Zoe'])
const FAMILY_HEADS = ['Ash', 'Bal', 'Card', 'Dun', 'Ell', 'Fair', 'Gold', 'Hal', 'Kings', 'Lang', 'Mont', 'Nor', 'Oak', 'Pres'].concat([
  'Ram',
  'Sand',
  'Thorn',
  'Under',
  'Vance',
  'West',
  'Whit',
  'Young',
  'Brook',
  'Crest',
])
const FAMILY_TAILS = ['ley', 'wood', 'ford', 'well', 'by', 'ton', 'more', 'field', 'stone', 'worth', 'ridge', 'dale', 'son', 'ham']

const TOPICS = ['Road Repair', 'Public Transit', 'Parks and Open Space', 'Library Funding', 'Water Storage', 'Wildfire Prevention']
  .concat(['Affordable Housing', 'Broadband Access', 'Clean Energy', 'Public Safety', 'Veterans Housing', 'Term Limits'])
  .concat(['Redistricting Commission', 'Minimum Wage', 'Data Privacy', 'Daylight Saving Time', 'Flood Control', 'Child Care'])

const COUNTY_OFFICES = [
  { key: 'sheriff', name: 'Sheriff' },
  { key: 'assessor', name: 'Assessor' },
  { key: 'district-attorney', name: 'District Attorney' },
  { key: 'clerk', name: 'County Clerk' },
  { key: 'treasurer', name: 'Treasurer-Tax Collector' },
] as const

/** What a state's slate is made of, in order: a state with c contests has the first c. */
type Item =
  | { kind: 'single'; key: string; name: string; writeIns?: boolean }
  | { kind: 'multi'; key: string; name: string }
  | { kind: 'measure'; key: string; name: 'proposition' | 'retention'; threshold?: number | string }
const STATE_ITEMS: Item[] = [
  { kind: 'single', key: 'governor', name: 'Governor', writeIns: true },
  { kind: 'measure', key: 'prop-a', name: 'proposition' },
  { kind: 'single', key: 'senator', name: 'Senator' },
  { kind: 'single', key: 'attorney-general', name: 'Attorney General' },
  { kind: 'measure', key: 'retain-a', name: 'retention' },
  { kind: 'single', key: 'secretary', name: 'Secretary of State' },
  { kind: 'measure', key: 'prop-b', name: 'proposition', threshold: '2/3' },
  { kind: 'single', key: 'treasurer', name: 'Treasurer' },
  { kind: 'multi', key: 'regents', name: 'Board of Regents' },
  { kind: 'measure', key: 'prop-c', name: 'proposition', threshold: 0.55 },
  { kind: 'single', key: 'controller', name: 'Controller' },
  { kind: 'measure', key: 'prop-d', name: 'proposition' },
]
const MAX_STATE_CONTESTS = STATE_ITEMS.length - 1

/** National propositions' thresholds, in turn: mostly a simple majority, now and then more. */
const NATIONAL_THRESHOLDS: Array<number | string | undefined> = [undefined, '2/3', undefined, 0.55, undefined]

// Salts of the definition's draws (the geography's are below 100, the ballot model's 300+).
const D = { slate: 201, names: 202, parties: 203, sizes: 204, places: 205, order: 206, topics: 207, ranked: 208 } as const

/** A stream of draws: the n-th draw of a salt, in the order the generator asks. */
class Draws {
  private n = 0
  constructor(
    private readonly seed: number,
    private readonly salt: number,
  ) {}
  next(): number {
    return uniform(this.seed, this.n++, this.salt)
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  of<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T
  }
}

interface Place {
  name: string
  slug: string
  regions: number[]
}

/**
 * The election definition for the simulated country's regions: districts at every level and
 * ~150 contests from 1,000 precincts up (fewer below), every region on a ballot style.
 */
export function generateDefinition(seed: number, regions: DefinitionRegion[]): ElectionDefinitionInput {
  const n = regions.length
  if (n === 0) throw new RangeError('a definition needs at least one region')
  const b = new DefinitionBuilder(seed, n)

  // States and counties in the order regions first name them; a region keeps its input order.
  const states: Place[] = []
  const counties: Array<Place & { state: number }> = []
  const stateIndex = new Map<string, number>()
  const countyIndex = new Map<string, number>()
  const stateSlugs = new Slugs()
  const countySlugs = new Slugs()
  for (const [i, r] of regions.entries()) {
    let s = stateIndex.get(r.state)
    if (s === undefined) {
      s = states.length
      stateIndex.set(r.state, s)
      states.push({ name: r.state, slug: stateSlugs.make(r.state, 20), regions: [] })
    }
    states[s]?.regions.push(i)
    const countyName = r.county ?? /^(.+) Co\. P\d+$/.exec(r.name)?.[1] ?? r.state
    const key = `${s}\u0000${countyName}`
    let c = countyIndex.get(key)
    if (c === undefined) {
      c = counties.length
      countyIndex.set(key, c)
      counties.push({ name: countyName, slug: countySlugs.make(countyName, 24), regions: [], state: s })
    }
    counties[c]?.regions.push(i)
  }
  const S = states.length
  const stateSizes = states.map((s) => s.regions.length)

  // The budget: per ballot at least F contests, in all about B (both grow with the run up to 1,000 precincts).
  const scale = Math.min(1, Math.max(0, Math.log10(n) / 3))
  const F = Math.round(8 + 14 * scale)
  const B = Math.round(F + 133 * scale)
  const root = Math.sqrt(n)
  const congressional = Math.min(n, Math.max(S, Math.min(16, Math.round(root / 2.2))))
  const legislative = Math.min(n, Math.max(S, Math.min(20, Math.round(root / 1.6))))
  const school = Math.min(n, Math.max(S, Math.min(10, Math.round(root / 3))))
  const electingCounties = Math.min(counties.length, Math.max(1, Math.round(1 + 2 * Math.log10(n))))
  const cities = Math.round(1 + 1.5 * Math.log10(n))
  const specials = n >= 1000 ? 3 : n >= 30 ? 2 : 1

  const where = (s: Place): Omit<DistrictInput, 'id' | 'name' | 'level'> =>
    isText(s.name, 200) ? { states: [s.name] } : { regions: s.regions.map((i) => regions[i]?.id ?? '') }
  const runOf = (list: number[]) => ({ regions: list.map((i) => regions[i]?.id ?? '') })

  // Congressional and state-senate districts: runs of neighbouring precincts within each state.
  for (const [s, count] of apportion(congressional, stateSizes, 1, stateSizes).entries()) {
    const st = states[s] as Place
    for (const [j, run] of chunks(st.regions, count).entries()) {
      const id = `cd-${st.slug}-${j + 1}`
      b.district({ id, name: `${st.name} Congressional District ${j + 1}`, level: 'congressional', ...runOf(run) }, run)
      b.single(`${id}.representative`, `Representative in Congress, ${st.name} District ${j + 1}`, id, 'congressional', {
        writeIns: b.draws.slate.next() < 0.3,
      })
    }
  }
  for (const [s, count] of apportion(legislative, stateSizes, 1, stateSizes).entries()) {
    const st = states[s] as Place
    for (const [j, run] of chunks(st.regions, count).entries()) {
      const id = `sen-${st.slug}-${j + 1}`
      b.district({ id, name: `${st.name} State Senate District ${j + 1}`, level: 'legislative', ...runOf(run) }, run)
      b.single(`${id}.senator`, `State Senator, ${st.name} District ${j + 1}`, id, 'legislative', { writeIns: b.draws.slate.next() < 0.2 })
    }
  }

  // Counties: only some elect their officers this year (staggered terms), the largest first.
  const bySize = counties.map((_, c) => c).sort((x, y) => (counties[y]?.regions.length ?? 0) - (counties[x]?.regions.length ?? 0) || x - y)
  const executiveCounty = counties[bySize[0] ?? 0] as Place
  for (const [i, c] of bySize.slice(0, electingCounties).entries()) {
    const co = counties[c] as Place
    const id = `co-${co.slug}`
    const office = COUNTY_OFFICES[i % COUNTY_OFFICES.length] ?? COUNTY_OFFICES[0]
    b.district({ id, name: `${co.name} County`, level: 'county', ...runOf(co.regions) }, co.regions)
    b.multi(`${id}.supervisors`, `${co.name} County Board of Supervisors`, id, 'county')
    b.single(`${id}.${office.key}`, `${co.name} County ${office.name}`, id, 'county', { writeIns: b.draws.slate.next() < 0.25 })
    b.measure(`${id}.measure`, `${co.name} County Measure ${letter(i)}`, id, 'county', i % 2 === 0 ? undefined : '2/3')
  }

  // Cities: part of a county (a run of its precincts), in counties drawn from the seed.
  const eligible = counties.map((_, c) => c).filter((c) => (counties[c]?.regions.length ?? 0) >= 2)
  const cityKey = mix(seed ^ Math.imul(D.places, 0x9e3779b1))
  const cityRuns: Array<{ id: string; name: string; regions: number[] }> = []
  for (let i = 0; i < Math.min(cities, eligible.length); i++) {
    const c = eligible[permute(i, eligible.length, cityKey)] as number
    const co = counties[c] as Place
    const m = co.regions.length
    const length = Math.min(m - 1, Math.max(1, Math.round(m * (0.3 + 0.4 * b.draws.places.next()))))
    const start = b.draws.places.int(m - length + 1)
    const run = co.regions.slice(start, start + length)
    const id = `city-${co.slug}`
    b.district({ id, name: `${co.name} City`, level: 'city', ...runOf(run) }, run)
    cityRuns.push({ id, name: `${co.name} City`, regions: run })
    b.single(`${id}.mayor`, `Mayor of ${co.name} City`, id, 'city', { writeIns: true })
    b.multi(`${id}.council`, `${co.name} City Council`, id, 'city')
    if (i % 2 === 0) b.measure(`${id}.measure`, `${co.name} City Measure ${letter(i)}`, id, 'city', i % 4 === 0 ? undefined : '2/3')
  }

  // School districts: they cover every precinct; every other one asks for a bond (55 %).
  let schoolNumber = 0
  for (const [s, count] of apportion(school, stateSizes, 1, stateSizes).entries()) {
    const st = states[s] as Place
    for (const [j, run] of chunks(st.regions, count).entries()) {
      const id = `usd-${st.slug}-${j + 1}`
      const first = regions[run[0] ?? 0]
      const town = first?.county ?? /^(.+) Co\. P\d+$/.exec(first?.name ?? '')?.[1] ?? st.name
      const name = `${town} Unified School District ${j + 1}`
      b.district({ id, name, level: 'school', ...runOf(run) }, run)
      b.multi(`${id}.board`, `${name} Governing Board`, id, 'school')
      if (schoolNumber % 2 === 0) b.measure(`${id}.bond`, `${name} Bond Measure`, id, 'school', 0.55, 'school facilities')
      schoolNumber++
    }
  }

  // Special districts: a run of precincts in one state, across county lines.
  const SPECIALS = [
    { key: 'water', name: 'Water District' },
    { key: 'fire', name: 'Fire Protection District' },
    { key: 'hospital', name: 'Hospital District' },
  ] as const
  for (let i = 0; i < specials; i++) {
    const kind = SPECIALS[i % SPECIALS.length] ?? SPECIALS[0]
    const st = states[b.draws.places.int(S)] as Place
    const m = st.regions.length
    const length = Math.min(m, Math.max(1, Math.round(m * (0.02 + 0.05 * b.draws.places.next()))))
    const start = b.draws.places.int(m - length + 1)
    const run = st.regions.slice(start, start + length)
    const first = regions[run[0] ?? 0]
    const town = first?.county ?? /^(.+) Co\. P\d+$/.exec(first?.name ?? '')?.[1] ?? st.name
    const id = `sp-${kind.key}-${i + 1}`
    const name = `${town} ${kind.name}`
    b.district({ id, name, level: 'special', ...runOf(run) }, run)
    if (kind.key === 'water') b.measure(`${id}.parcel-tax`, `${name} Parcel Tax`, id, 'special', '2/3', 'water storage')
    else if (kind.key === 'fire') b.multi(`${id}.directors`, `${name} Board of Directors`, id, 'special')
    else b.measure(`${id}.measure`, `${name} Measure`, id, 'special', undefined, 'hospital services')
  }

  // The local layers are laid: what every ballot already holds decides the state slates and
  // the nationwide contests, which make up the rest of the budget.
  const local = b.localPerRegion()
  let minLocal = Number.POSITIVE_INFINITY
  for (const v of local) minLocal = Math.min(minLocal, v)
  const perState = new Array<number>(S).fill(1)
  if (S === 1) perState[0] = clampInt(Math.round((F - minLocal) / 2), 1, MAX_STATE_CONTESTS)
  else {
    const spare = B - b.contestCount() - F + minLocal
    const c = clampInt(Math.floor(spare / (S - 1)), 1, MAX_STATE_CONTESTS)
    const extra = clampInt(spare - c * (S - 1), 0, S - 1)
    const key = mix(seed ^ Math.imul(D.order, 0x9e3779b1))
    for (let s = 0; s < S; s++) perState[s] = c
    for (let e = 0; e < (c < MAX_STATE_CONTESTS ? extra : 0); e++) perState[permute(e, S, key)] = c + 1
  }
  let fewest = Number.POSITIVE_INFINITY
  for (const [s, st] of states.entries()) for (const r of st.regions) fewest = Math.min(fewest, (perState[s] ?? 0) + (local[r] ?? 0))
  const nationwide = Math.max(1, F - fewest)

  b.district({ id: 'nation', name: 'Nationwide', level: 'other' }, null)
  b.single('nation.president', 'President', 'nation', 'other', { writeIns: true, declaredWriteIn: true, majors: 2, minors: 2 })
  for (let j = 1, prop = 1, justice = 1; j < nationwide; j++) {
    if (j === 2) b.multi('nation.assembly', 'National Assembly, at large', 'nation', 'other', 3)
    else if (j % 3 === 0) b.retention(`nation.retain-${justice++}`, 'Supreme Court', 'nation', 'other')
    else {
      const threshold = NATIONAL_THRESHOLDS[(prop - 1) % NATIONAL_THRESHOLDS.length]
      b.measure(`nation.prop-${prop}`, `National Proposition ${prop}`, 'nation', 'other', threshold, undefined, threshold === '2/3')
      prop++
    }
  }

  for (const [s, st] of states.entries()) {
    const id = `st-${st.slug}`
    b.district({ id, name: `State of ${st.name}`, level: 'state', ...where(st) }, null)
    for (const item of STATE_ITEMS.slice(0, perState[s] ?? 1)) {
      const cid = `${id}.${item.key}`
      if (item.kind === 'single') b.single(cid, `${item.name} of ${st.name}`, id, 'state', { writeIns: item.writeIns ?? false })
      else if (item.kind === 'multi') b.multi(cid, `${st.name} ${item.name}`, id, 'state', 2)
      else if (item.name === 'retention') b.retention(cid, `${st.name} Supreme Court`, id, 'state')
      else
        b.measure(
          cid,
          `${st.name} Proposition ${item.key.slice(-1).toUpperCase()}`,
          id,
          'state',
          item.threshold,
          undefined,
          item.threshold === '2/3',
        )
    }
  }

  // Ranked choice, laid last and with draws of its own, so that every other contest is the
  // one it was before ranked contests were added: each city's mayor (its field grows), one
  // council seat per city (staggered terms: one district is up), the largest county's executive.
  for (const city of cityRuns) {
    b.rankedChoice(`${city.id}.mayor`)
    const seats = Math.min(city.regions.length, 3 + b.draws.ranked.int(5))
    const seat = 1 + b.draws.ranked.int(seats)
    const run = chunks(city.regions, seats)[seat - 1] as number[]
    const id = `${city.id}-council-${seat}`
    const name = `${city.name} Council District ${seat}`
    b.district({ id, name, level: 'city', ...runOf(run) }, run)
    b.rankedSeat(`${id}.member`, name, id, 'city')
  }
  // The largest county always elects its officers this year: its district is laid.
  b.rankedSeat(`co-${executiveCounty.slug}.executive`, `${executiveCounty.name} County Executive`, `co-${executiveCounty.slug}`, 'county')
  return b.definition()
}

/**
 * One ranked-choice contest on every ballot, shaped like New York City's 2021 Democratic
 * mayoral primary: 13 candidates, 5 ranks, the city's rules (an overvoted rank is passed
 * over, skipped ranks never end a ballot, the hopeless eliminated in a batch). The ballot the
 * ranked rounds are measured with at the rate of the one-contest ballot.
 */
export function generateRankedDefinition(seed: number, regions: DefinitionRegion[]): ElectionDefinitionInput {
  if (regions.length === 0) throw new RangeError('a definition needs at least one region')
  const b = new DefinitionBuilder(seed, regions.length)
  b.district({ id: 'city', name: 'Citywide', level: 'city' }, null)
  b.rankedSeat('city.mayor', 'Mayor', 'city', 'city', {
    candidates: 13,
    rules: {
      ranksAllowed: 5,
      numberElected: 1,
      overvoteRule: 'alwaysSkipToNextRank',
      maxSkippedRanksAllowed: 'unlimited',
      duplicateRankingRule: 'skipDuplicate',
      batchElimination: true,
      tiebreakMode: 'random',
      tiebreakSeed: `dice ${Array.from({ length: 10 }, () => 1 + b.draws.ranked.int(6)).join('')}`,
    },
  })
  return b.definition()
}

interface SingleOptions {
  writeIns: boolean
  declaredWriteIn?: boolean
  majors?: number
  minors?: number
}

class DefinitionBuilder {
  readonly draws: Record<keyof typeof D, Draws>
  private readonly districts: DistrictInput[] = []
  private readonly contests: Array<{ contest: ContestInput; rank: number }> = []
  private readonly contestsOf = new Map<string, number>()
  private readonly covered = new Map<string, number[] | null>()
  private readonly usedNames = new Set<string>()

  constructor(
    readonly seed: number,
    readonly regions: number,
  ) {
    this.draws = Object.fromEntries(Object.entries(D).map(([k, salt]) => [k, new Draws(seed, salt)])) as Record<keyof typeof D, Draws>
  }

  /** Adds a district; `covers` is its regions' indices (null: not counted among the local layers). */
  district(d: DistrictInput & { level: Level }, covers: number[] | null) {
    this.districts.push({ ...d, name: label(d.name) })
    this.covered.set(d.id, covers)
    this.contestsOf.set(d.id, 0)
  }

  private add(contest: ContestInput, level: Level) {
    const section = contest.type === 'candidate' ? 0 : 1
    this.contests.push({ contest: { ...contest, name: label(contest.name) }, rank: section * 100 + LEVEL_ORDER[level] })
    this.contestsOf.set(contest.district, (this.contestsOf.get(contest.district) ?? 0) + 1)
  }

  contestCount(): number {
    return this.contests.length
  }

  /** Contests on each region's ballot from the districts with `covers` given (the local layers). */
  localPerRegion(): Int32Array {
    const out = new Int32Array(this.regions)
    for (const [id, covers] of this.covered) {
      const k = this.contestsOf.get(id) ?? 0
      if (covers) for (const r of covers) out[r] = (out[r] ?? 0) + k
    }
    return out
  }

  /** A person's name, not yet used in this election. */
  private name(): { name: string; id: string } {
    const d = this.draws.names
    let name = ''
    for (let attempt = 0; attempt < 20; attempt++) {
      const head = d.of(FAMILY_HEADS)
      const tail = d.of(FAMILY_TAILS)
      name = `${d.of(GIVEN)} ${head}${head.at(-1) === tail[0] ? tail.slice(1) : tail}`
      if (!this.usedNames.has(name)) break
    }
    if (this.usedNames.has(name)) name = `${name} ${this.usedNames.size}`
    this.usedNames.add(name)
    return { name, id: slug(name, 60) }
  }

  /** A single-seat contest: two large parties, up to two smaller ones, maybe a declared write-in candidate. */
  single(id: string, name: string, district: string, level: Level, o: SingleOptions) {
    const d = this.draws.sizes
    const minors = o.minors ?? (d.next() < 0.45 ? 0 : d.next() < 0.65 ? 1 : 2)
    const declared = o.declaredWriteIn ?? (o.writeIns && d.next() < 0.3)
    const flip = this.draws.parties.next() < 0.5
    const parties: string[] = [flip ? 'Harbor' : 'Frontier', flip ? 'Frontier' : 'Harbor'].slice(0, o.majors ?? 2)
    const start = this.draws.parties.int(MINOR_PARTIES.length)
    for (let i = 0; i < minors; i++) parties.push(MINOR_PARTIES[(start + i) % MINOR_PARTIES.length] as string)
    const candidates: CandidateInput[] = parties.map((party) => ({ ...this.name(), party }))
    if (declared) candidates.push({ ...this.name(), party: 'Independent', writeIn: true })
    this.add({ id, name, district, type: 'candidate', candidates, ...(o.writeIns ? { writeIns: true } : {}) }, level)
  }

  /**
   * Makes a single-seat contest already laid a ranked-choice one, in its place on the ballot:
   * its candidates stay (a declared write-in runs as an independent: a ranked contest has no
   * write-in line), and more join them up to 4–9, as where an instant runoff removes the fear
   * of splitting the vote: another Harbor or Frontier candidate, or one of no party.
   */
  rankedChoice(id: string) {
    const entry = this.contests.find((c) => c.contest.id === id)
    if (entry?.contest.type !== 'candidate') throw new Error(`no single-seat contest ${id} to rank`)
    const d = this.draws.ranked
    const candidates: CandidateInput[] = entry.contest.candidates.map(({ writeIn: _, ...c }) => c)
    for (const size = 4 + d.int(6); candidates.length < size; ) {
      const party = d.next() < 0.6 ? d.of(['Harbor', 'Frontier']) : undefined
      candidates.push({ ...this.name(), ...(party ? { party } : {}) })
    }
    const { writeIns: _, ...rest } = entry.contest
    entry.contest = { ...rest, name: label(`${rest.name} (ranked choice)`), candidates, rcv: this.rcvRules(candidates.length) }
  }

  /** A nonpartisan single seat elected by ranked choice: 4 to 9 candidates (or as many as given, under the rules given). */
  rankedSeat(id: string, name: string, district: string, level: Level, o: { candidates?: number; rules?: RcvRulesInput } = {}) {
    const candidates: CandidateInput[] = Array.from({ length: o.candidates ?? 4 + this.draws.ranked.int(6) }, () => this.name())
    const rcv = o.rules ?? this.rcvRules(candidates.length)
    this.add({ id, name: `${name} (ranked choice)`, district, type: 'candidate', candidates, rcv }, level)
  }

  /**
   * A ranked contest's rules: New York City's for most (an overvoted rank is passed over,
   * skipped ranks never end a ballot), Maine's for some (an overvote ends the ballot, as do two
   * skipped ranks in a row), the strictest for a few (any skipped rank ends it); one in five
   * ends a ballot at a repeated candidate, some eliminate in batches; either tie-break, whose
   * seed is published with the contest (here: a roll of ten dice).
   */
  private rcvRules(candidates: number): RcvRulesInput {
    const d = this.draws.ranked
    const style = d.next()
    const overvoteRule = style < 0.55 ? 'alwaysSkipToNextRank' : 'exhaustImmediately'
    const maxSkippedRanksAllowed = style < 0.55 ? 'unlimited' : style < 0.85 ? 1 : 0
    return {
      ranksAllowed: Math.min(candidates, 3 + d.int(4)),
      numberElected: 1,
      overvoteRule,
      maxSkippedRanksAllowed,
      duplicateRankingRule: d.next() < 0.2 ? 'exhaustOnDuplicate' : 'skipDuplicate',
      batchElimination: d.next() < 0.3,
      tiebreakMode: d.next() < 0.5 ? 'random' : 'previousRoundCountsThenRandom',
      tiebreakSeed: `dice ${Array.from({ length: 10 }, () => 1 + d.int(6)).join('')}`,
    }
  }

  /** A vote-for-N board or council (nonpartisan): N seats, N + 2 to N + 5 candidates (4 to 9). */
  multi(id: string, name: string, district: string, level: Level, votes?: number) {
    const d = this.draws.sizes
    const votesAllowed = votes ?? 2 + d.int(3)
    const count = Math.min(9, Math.max(4, votesAllowed + 2 + d.int(4)))
    const candidates: CandidateInput[] = Array.from({ length: count }, () => this.name())
    const writeIns = d.next() < 0.3
    this.add(
      {
        id,
        name: `${name} (vote for ${votesAllowed})`,
        district,
        type: 'candidate',
        votesAllowed,
        numberElected: votesAllowed,
        candidates,
        writeIns,
      },
      level,
    )
  }

  /** A ballot measure; the threshold's default (absent) is a simple majority. */
  measure(id: string, name: string, district: string, level: Level, threshold?: number | string, topic?: string, amendment = false) {
    const subject = topic ?? this.draws.topics.of(TOPICS)
    const what = amendment
      ? 'amend the constitution on'
      : threshold === '2/3'
        ? 'levy a special tax for'
        : threshold === 0.55
          ? 'issue bonds for'
          : 'adopt the measure on'
    const needs = threshold === 0.55 ? ' (55 % of the votes needed)' : threshold === '2/3' ? ' (two thirds of the votes needed)' : ''
    const text = `Shall the voters ${what} ${subject.toLowerCase()}?${needs}`
    this.add(
      { id, name: `${name}: ${titleCase(subject)}`, district, type: 'measure', text, ...(threshold === undefined ? {} : { threshold }) },
      level,
    )
  }

  /** Whether a justice keeps their seat: a measure, simple majority. */
  retention(id: string, court: string, district: string, level: Level) {
    const justice = this.name().name
    this.add({ id, name: `${court}: retain Justice ${justice}`, district, type: 'measure', text: `Shall ${justice} be retained?` }, level)
  }

  definition(): ElectionDefinitionInput {
    const order = this.contests.map((c, i) => ({ ...c, i })).sort((x, y) => x.rank - y.rank || x.i - y.i)
    const nation = this.districts.filter((d) => d.level === 'other')
    const rest = this.districts
      .filter((d) => d.level !== 'other')
      .sort((x, y) => LEVEL_ORDER[x.level ?? 'other'] - LEVEL_ORDER[y.level ?? 'other'])
    return { districts: [...nation, ...rest], contests: order.map((c) => c.contest) }
  }
}

/** Unique id parts made of a name: lower case, letters and digits joined by '-'. */
class Slugs {
  private readonly used = new Set<string>()
  make(text: string, max: number): string {
    const base = slug(text, max - 3)
    let out = base
    for (let i = 2; this.used.has(out); i++) out = `${base}-${i}`
    this.used.add(out)
    return out
  }
}

function slug(text: string, max: number): string {
  const s = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '')
  return s || 'x'
}

/** `list` cut into `d` runs of (nearly) equal length, in order. */
function chunks(list: number[], d: number): number[][] {
  const m = list.length
  return Array.from({ length: d }, (_, i) => list.slice(Math.floor((i * m) / d), Math.floor(((i + 1) * m) / d)))
}

/** A name fit for the schema's text fields: no control characters, at most 200 characters. */
const label = (s: string) => s.replace(/\p{Cc}/gu, ' ').slice(0, 200) || '?'
const isText = (s: string, max: number) => s.length > 0 && s.length <= max && /^[^\p{Cc}]*$/u.test(s)
const clampInt = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x))
const letter = (i: number) => String.fromCharCode(65 + (i % 26)) + (i >= 26 ? String(Math.floor(i / 26)) : '')
const titleCase = (s: string) => s.replace(/\b[a-z]/g, (c) => c.toUpperCase())

/**
 * A few contests to show while an election runs: the widest single-seat race, the widest
 * measure and the widest council or board (vote for N), then the next contests in ballot
 * order. The widest: the whole election, then statewide, then the most regions; the first
 * of equals.
 */
export function headlineContests(
  definition: {
    districts: Array<{ id: string; states?: unknown[]; regions?: unknown[] }>
    contests: Array<{ id: string; type: 'candidate' | 'measure'; district: string; votesAllowed?: number }>
  },
  n = 3,
): string[] {
  const width = new Map<string, number>()
  for (const d of definition.districts)
    width.set(d.id, d.regions ? d.regions.length : d.states ? 1e9 + d.states.length : Number.POSITIVE_INFINITY)
  const widest = (list: typeof definition.contests) =>
    list.reduce<(typeof list)[number] | undefined>(
      (best, c) => (!best || (width.get(c.district) ?? 0) > (width.get(best.district) ?? 0) ? c : best),
      undefined,
    )
  const votes = (c: { votesAllowed?: number }) => c.votesAllowed ?? 1
  const picks = [
    widest(definition.contests.filter((c) => c.type === 'candidate' && votes(c) === 1)),
    widest(definition.contests.filter((c) => c.type === 'measure')),
    widest(definition.contests.filter((c) => c.type === 'candidate' && votes(c) > 1)),
    ...definition.contests,
  ]
  const out: string[] = []
  for (const c of picks) {
    if (out.length >= n) break
    if (c && !out.includes(c.id)) out.push(c.id)
  }
  return out
}

// ---------------------------------------------------------------------------------------
// The marks
// ---------------------------------------------------------------------------------------

/** How likely a voter leaves a contest blank: from the first contest of the style to the last. */
const BLANK_FIRST = 0.02
const BLANK_LAST = 0.25
/** Of the contests a voter marks: how often they overvote one. */
const OVERVOTE = 0.003
/** Where there are write-in lines: how often a voter writes a name in. */
const WRITE_IN = 0.01
/** In a vote-for-N contest: how often a voter marks fewer than N. */
const PARTIAL = 0.4
/** In a ranked contest, how many candidates a voter ranks: every rank offered, else one, two or three (the rest). */
const RANK_ALL = 0.15
const RANK_ONE = 0.38
const RANK_TWO = 0.27
/** At a rank of a ranked contest: how often a voter overvotes, skips it (then now and then the next too), ranks a candidate again. */
const OVERVOTED_RANK = 0.005
const SKIPPED_RANK = 0.02
const SKIPPED_AGAIN = 0.3
const REPEATED_RANK = 0.01
/** Each channel's pull along the axis, in the order of CHANNEL_INDEX. */
const CHANNEL_SHIFT = [0.15, -0.25, 0.45] as const
const CHANNEL_INDEX: Record<Channel, number> = { early: 0, election_day: 1, mail: 2 }

const WRITE_IN_NAMES = [
  'Mickey Mouse',
  'Jane Roe',
  'John Doe',
  'Ada Byron',
  'None Of The Above',
  'My Neighbour',
  'Santa Claus',
  'Pat Paulsen',
]
const writeInMark = (): Mark => ({ writeIn: WRITE_IN_NAMES[Math.floor(draw() * WRITE_IN_NAMES.length)] as string })

// Salts of the ballot model's draws.
const M = {
  districtLean: 301,
  regionLean: 302,
  rollOff: 303,
  taste: 304,
  base: 305,
  axis: 306,
  tilt: 307,
  close: 308,
  margin: 309,
  measureAxis: 310,
} as const

/** One contest as the marker uses it. */
interface ContestModel {
  id: string
  votesAllowed: number
  writeIns: boolean
  /** A ranked contest: the ranks its ballot offers; 0 for any other. */
  ranks: number
  selections: string[]
  hash: number
  /** Per selection (a measure: yes only), its base utility and its place on the axis. */
  base: Float64Array
  axis: Float64Array
  measure: boolean
}

/** One region's ballot: its contests in order, how likely each is left blank, and cumulative shares per channel. */
interface RegionModel {
  contests: ContestModel[]
  blank: Float64Array
  offset: Int32Array
  cumulative: [Float64Array, Float64Array, Float64Array]
}

interface BallotModel {
  seed: number
  index: TabulationIndex
  contests: Map<string, ContestModel>
  regions: Map<string, RegionModel>
}

const models = new WeakMap<TabulationIndex, Map<number, BallotModel>>()

function modelFor(index: TabulationIndex, seed: number): BallotModel {
  let bySeed = models.get(index)
  if (!bySeed) {
    bySeed = new Map()
    models.set(index, bySeed)
  }
  let model = bySeed.get(seed)
  if (!model) {
    model = { seed, index, contests: new Map(), regions: new Map() }
    for (const c of index.resolved.contests) model.contests.set(c.id, contestModel(seed, c))
    bySeed.set(seed, model)
  }
  return model
}

function contestModel(seed: number, c: TabulationIndex['resolved']['contests'][number]): ContestModel {
  const hash = hashString(c.id)
  if (c.type === 'measure') {
    // Yes starts near the threshold: most measures close to it, some well above or below.
    const t = c.threshold ? c.threshold.numerator / c.threshold.denominator : 0.5
    const margin =
      uniform(seed, hash, M.close) < 0.55
        ? 0.04 * normal(seed, hash, M.margin)
        : (uniform(seed, hash, M.margin) < 0.5 ? -1 : 1) * (0.07 + 0.1 * uniform(seed, hash, M.close + 1000))
    const p = Math.min(0.9, Math.max(0.1, t + margin))
    return {
      id: c.id,
      votesAllowed: 1,
      writeIns: false,
      ranks: 0,
      selections: c.selections.map((s) => s.id),
      hash,
      base: Float64Array.of(Math.log(p / (1 - p))),
      axis: Float64Array.of(0.5 * normal(seed, hash, M.measureAxis)),
      measure: true,
    }
  }
  // The large parties' candidates: one of them has the wind in this contest.
  const tilt = 0.35 * normal(seed, hash, M.tilt)
  const base = new Float64Array(c.selections.length)
  const axis = new Float64Array(c.selections.length)
  for (const [j, s] of c.selections.entries()) {
    const k = mix(hash + j)
    const party = s.party === null ? undefined : PARTY.get(s.party)
    if (party) {
      axis[j] = party.axis
      base[j] = party.base + party.axis * tilt + 0.15 * normal(seed, k, M.base)
    } else if (s.party !== null) {
      axis[j] = 2 * uniform(seed, hashString(s.party), M.axis) - 1
      base[j] = -0.4 + 0.35 * normal(seed, k, M.base)
    } else {
      axis[j] = 0.6 * normal(seed, k, M.axis)
      base[j] = 0.45 * normal(seed, k, M.base)
    }
    if (s.writeIn) base[j] = (base[j] ?? 0) - 3
  }
  return {
    id: c.id,
    votesAllowed: c.votesAllowed,
    writeIns: c.writeIns,
    ranks: c.rcv?.ranksAllowed ?? 0,
    selections: c.selections.map((s) => s.id),
    hash,
    base,
    axis,
    measure: false,
  }
}

function regionModel(model: BallotModel, regionId: string): RegionModel {
  const cached = model.regions.get(regionId)
  if (cached) return cached
  const { seed, index } = model
  const styleId = index.resolved.styleOfRegion.get(regionId)
  const ids = styleId === undefined ? undefined : index.resolved.styles.get(styleId)
  if (!ids) throw new RangeError(`no region ${regionId} in the election's definition`)
  const contests = ids.map((id) => model.contests.get(id) as ContestModel)

  // The voters' lean: each district of the region pulls it (neighbours share most of them), the precinct too.
  const districts = new Set(ids.map((id) => index.contests.get(id)?.district ?? ''))
  let pull = 0
  for (const d of districts) pull += normal(seed, hashString(d), M.districtLean)
  const regionHash = hashString(regionId)
  const lean = (0.8 * pull) / Math.sqrt(districts.size) + 0.4 * normal(seed, regionHash, M.regionLean)
  const rollOff = Math.exp(0.2 * normal(seed, regionHash, M.rollOff))

  const L = contests.length
  const blank = new Float64Array(L)
  const offset = new Int32Array(L + 1)
  for (let p = 0; p < L; p++) {
    blank[p] = Math.min(0.6, rollOff * (BLANK_FIRST + ((BLANK_LAST - BLANK_FIRST) * p) / Math.max(1, L - 1)))
    offset[p + 1] = (offset[p] ?? 0) + (contests[p]?.selections.length ?? 0)
  }
  const size = offset[L] ?? 0
  const cumulative: RegionModel['cumulative'] = [new Float64Array(size), new Float64Array(size), new Float64Array(size)]
  for (let ch = 0; ch < 3; ch++) {
    const at = cumulative[ch] as Float64Array
    const x = lean + (CHANNEL_SHIFT[ch] ?? 0)
    for (let p = 0; p < L; p++) {
      const c = contests[p] as ContestModel
      const o = offset[p] ?? 0
      const taste = (j: number) => normal(seed, regionHash ^ mix(c.hash + j), M.taste)
      if (c.measure) {
        const u = (c.base[0] ?? 0) + (c.axis[0] ?? 0) * (0.6 * lean + 0.5 * (CHANNEL_SHIFT[ch] ?? 0)) + 0.25 * taste(0)
        at[o] = 1 / (1 + Math.exp(-u))
        for (let j = 1; j < c.selections.length; j++) at[o + j] = 1
        continue
      }
      const n = c.selections.length
      let max = Number.NEGATIVE_INFINITY
      for (let j = 0; j < n; j++) {
        const u = (c.base[j] ?? 0) + (c.axis[j] ?? 0) * x + 0.3 * taste(j)
        at[o + j] = u
        if (u > max) max = u
      }
      let total = 0
      for (let j = 0; j < n; j++) {
        const w = Math.exp((at[o + j] ?? 0) - max)
        at[o + j] = w
        total += w
      }
      let acc = 0
      for (let j = 0; j < n; j++) {
        acc += (at[o + j] ?? 0) / total
        at[o + j] = acc
      }
      if (n > 0) at[o + n - 1] = 1
    }
  }
  const out = { contests, blank, offset, cumulative }
  model.regions.set(regionId, out)
  return out
}

// The ballot's draws: the n-th number of ballot k's stream. Module state, reset by every
// markBallot before its first draw (it never yields), so a ballot is a function of (seed, k).
let streamBase = 0
let streamN = 0
function draw(): number {
  streamN++
  return mix(streamBase ^ Math.imul(streamN, 0x85ebca6b)) / 4294967296
}

/**
 * The marks of ballot number k, cast in `regionId` through `channel`: for the contests of
 * the region's ballot style only, every one of them a ballot the count accepts. A function
 * of (seed, k) and the arguments; the per-contest tables are built once per index and seed,
 * a region's on its first ballot, and kept with the index (a WeakMap: they go with it).
 * Works on any definition's index, not only a generated one. Throws a RangeError for a
 * region the index has no style for.
 */
export function markBallot(seed: number, k: number, index: TabulationIndex, regionId: string, channel: Channel): Marks {
  const region = regionModel(modelFor(index, seed), regionId)
  const cumulative = region.cumulative[CHANNEL_INDEX[channel] ?? 1] as Float64Array
  streamBase = mix(mix(seed ^ 0x9e3779b9) ^ k)
  streamN = 0
  // A hash map from the start: every ballot leaves a different subset of its contests blank,
  // and adding ~25 keys in ever new combinations to a fast-mode object walks (and grows)
  // the engine's shape tree on every store, most of the cost of a ballot. Deleting a
  // property that is not the last one added turns the object into a dictionary (V8 and JSC).
  const marks: Marks = { a: [], b: [] }
  delete marks.a
  delete marks.b
  const contests = region.contests
  for (let p = 0; p < contests.length; p++) {
    if (draw() < (region.blank[p] ?? 0)) continue
    const c = contests[p] as ContestModel
    const o = region.offset[p] ?? 0
    if (c.ranks > 0) {
      marks[c.id] = ranking(c, cumulative, o)
      continue
    }
    const n = c.selections.length
    let want = c.votesAllowed
    if (draw() < OVERVOTE) want = c.votesAllowed + 1
    else if (want > 1 && draw() < PARTIAL) want = 1 + Math.floor(draw() * (want - 1))
    const made: Mark[] = []
    if (c.writeIns && draw() < WRITE_IN) made.push(writeInMark())
    while (made.length < want) {
      let pick = -1
      for (let attempt = 0; attempt < 6 && pick < 0; attempt++) {
        const r = draw()
        let j = 0
        while (j < n - 1 && r >= (cumulative[o + j] ?? 1)) j++
        if (!made.includes(c.selections[j] as string)) pick = j
      }
      for (let j = 0; j < n && pick < 0; j++) if (!made.includes(c.selections[j] as string)) pick = j
      if (pick >= 0) made.push(c.selections[pick] as string)
      else if (c.writeIns) made.push(writeInMark())
      else break
    }
    if (made.length > 0) marks[c.id] = made
  }
  return marks
}

/**
 * A voter's ranking in a ranked contest (`cumulative` from `o`: the first choice's shares):
 * each next choice drawn from the candidates not yet ranked with the same shares (a
 * Plackett–Luce ranking: whoever leans Harbor ranks the Harbor candidates, then those nearest
 * them), for as many ranks as the voter fills (rankingLength), with now and then a rank
 * skipped, overvoted or given to a candidate already ranked. A single mark is a plain id, a
 * skipped rank `[]`, an overvote the ids marked. Never past the ranks offered, never one
 * candidate twice at one rank: the count accepts every ranking made here.
 */
function ranking(c: ContestModel, cumulative: Float64Array, o: number): Mark[] {
  const n = c.selections.length
  const taken = new Uint8Array(n)
  const wanted = rankingLength(Math.min(c.ranks, n))
  const out: Mark[] = []
  const ranked: string[] = []
  for (let marked = 0; marked < wanted && out.length < c.ranks; marked++) {
    while (out.length < c.ranks - 1 && draw() < SKIPPED_RANK) {
      out.push([])
      if (out.length < c.ranks - 1 && draw() < SKIPPED_AGAIN) out.push([])
    }
    if (ranked.length > 0 && draw() < REPEATED_RANK) {
      out.push(ranked[Math.floor(draw() * ranked.length)] as string)
      continue
    }
    const j = nextChoice(cumulative, o, n, taken)
    const id = c.selections[j] as string
    taken[j] = 1
    ranked.push(id)
    if (draw() < OVERVOTED_RANK) out.push([id, c.selections[(j + 1 + Math.floor(draw() * (n - 1))) % n] as string])
    else out.push(id)
  }
  return out
}

/** How many ranks a voter fills (of `max`): most one to three, so that many ballots exhaust; some all. */
function rankingLength(max: number): number {
  const r = draw()
  const length = r < RANK_ALL ? max : r < RANK_ALL + RANK_ONE ? 1 : r < RANK_ALL + RANK_ONE + RANK_TWO ? 2 : 3
  return Math.min(max, length)
}

/** A candidate not yet taken, drawn by the shares of the candidates left (the first left if their shares round to nothing). */
function nextChoice(cumulative: Float64Array, o: number, n: number, taken: Uint8Array): number {
  let total = 0
  for (let j = 0, before = 0; j < n; j++) {
    const at = cumulative[o + j] ?? 1
    if (taken[j] === 0) total += at - before
    before = at
  }
  let r = draw() * total
  let first = -1
  for (let j = 0, before = 0; j < n; j++) {
    const at = cumulative[o + j] ?? 1
    if (taken[j] === 0) {
      if (first < 0) first = j
      r -= at - before
      if (r < 0) return j
    }
    before = at
  }
  return first
}
