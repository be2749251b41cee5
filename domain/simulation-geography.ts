import type { Candidate } from './election.ts'
import { apportion, normal, pick, uniform } from './simulation-random.ts'

/**
 * The simulated country: states → counties → precincts, with names, coordinates and how
 * urban each place is, all a pure function of (seed, number of precincts). The generator
 * derives it again from the stored settings, so nothing here needs a database column.
 */

export interface Geography {
  states: Array<{ name: string; code: string; counties: number }>
  counties: Array<{ name: string; state: number; urbanity: number; precincts: number }>
  precincts: Precinct[]
}

export interface Precinct {
  id: string
  name: string
  state: number
  county: number
  /** 0 (open country) .. 1 (city centre): what drives size, turnout, lean and counting speed. */
  urbanity: number
  /** The precinct's relative size on the roll. */
  weight: number
  lat: number
  lon: number
}

// Salts of the geography's draws; each kind of draw has its own.
const S = {
  stateName: 11,
  stateWeight: 12,
  stateJitter: 13,
  countyName: 21,
  countyKind: 22,
  countyUrbanity: 23,
  countyWeight: 24,
  countyLat: 25,
  countyLon: 26,
  precinctUrbanity: 31,
  precinctWeight: 32,
  precinctLat: 33,
  precinctLon: 34,
} as const

const STATE_HEADS = ['Ar', 'Bel', 'Cal', 'Dor', 'El', 'Fal', 'Gal', 'Hes', 'Is', 'Jor', 'Kal', 'Lor', 'Mar', 'Nev', 'Or', 'Pen'].concat([
  'Quen',
  'Ros',
  'Sal',
  'Tar',
  'Ul',
  'Ver',
  'Wes',
  'Yor',
  'Zan',
  'Mon',
  'Cor',
  'Del',
  'Ten',
  'Ver',
  'Al',
  'Ok',
])
const STATE_TAILS = ['ada', 'ia', 'ona', 'ington', 'mont', 'essa', 'ora', 'ana', 'aska', 'oming', 'ico', 'inia', 'essee', 'ado']
const COUNTY_HEADS = ['Ash', 'Bright', 'Cedar', 'Clay', 'Deer', 'East', 'Elm', 'Fair', 'Fox', 'Glen', 'Green', 'Hart', 'High', 'Iron']
  .concat(['King', 'Lake', 'Maple', 'Mill', 'North', 'Oak', 'Pine', 'Red', 'River', 'Rock', 'Salt', 'Silver', 'South', 'Stone'])
  .concat(['Sun', 'West', 'White', 'Willow', 'Wolf', 'Beacon', 'Copper', 'Hazel', 'Marsh', 'Raven'])
const COUNTY_TAILS = ['ford', 'field', 'ton', 'wood', 'ridge', 'dale', 'port', 'brook', 'view', 'haven', 'burg', 'ville', 'creek'].concat([
  'mont',
  'stead',
  'bury',
  'land',
  'water',
  'hill',
  'gate',
])

/** The continental box states are laid out in (degrees). */
const BOX = { south: 26, north: 48.5, west: -123, east: -70 }

/** How many states and counties `precincts` precincts are grouped into. */
export function hierarchySize(precincts: number): { states: number; counties: number } {
  if (precincts <= 0) return { states: 0, counties: 0 }
  const states = Math.max(1, Math.min(50, Math.round(Math.cbrt(precincts) * 0.8)))
  const counties = Math.max(states, Math.min(precincts, Math.round(Math.sqrt(precincts * states))))
  return { states, counties }
}

export function geography(seed: number, precinctCount: number): Geography {
  const { states: stateCount, counties: countyCount } = hierarchySize(precinctCount)

  // States: names, two-letter codes, and a cell of the grid over the box.
  const usedNames = new Set<string>()
  const usedCodes = new Set<string>()
  const states = Array.from({ length: stateCount }, (_, s) => {
    const name = uniqueName(usedNames, (attempt) => {
      const head = STATE_HEADS[pick(seed, s * 31 + attempt, S.stateName, STATE_HEADS.length)] ?? 'Ar'
      const tail = STATE_TAILS[pick(seed, s * 37 + attempt, S.stateName + 100, STATE_TAILS.length)] ?? 'ia'
      return joinSyllables(head, tail)
    })
    return { name, code: uniqueCode(usedCodes, name, s), counties: 0 }
  })
  const countiesPerState = apportion(
    countyCount,
    states.map((_, s) => Math.exp(0.5 * normal(seed, s, S.stateWeight))),
    1,
  )
  const cols = Math.max(1, Math.ceil(Math.sqrt(stateCount * 2.2)))
  const rows = Math.max(1, Math.ceil(stateCount / cols))
  const columns = Math.max(1, Math.ceil(stateCount / rows))
  const cellW = (BOX.east - BOX.west) / columns
  const cellH = (BOX.north - BOX.south) / rows
  const stateBox = (s: number) => {
    const x = BOX.west + (s % columns) * cellW
    const y = BOX.north - (Math.floor(s / columns) + 1) * cellH
    return { west: x + cellW * 0.08, east: x + cellW * 0.92, south: y + cellH * 0.08, north: y + cellH * 0.92 }
  }

  // Counties: a few metropolitan, more suburban, most rural; bigger cities hold more precincts.
  const counties: Geography['counties'] = []
  const firstCounty: number[] = []
  const countyCentres: Array<{ lat: number; lon: number }> = []
  for (let s = 0; s < stateCount; s++) {
    const n = countiesPerState[s] ?? 0
    const st = states[s]
    if (st) st.counties = n
    const box = stateBox(s)
    firstCounty[s] = counties.length
    for (let j = 0; j < n; j++) {
      const c = counties.length
      const kind = uniform(seed, c, S.countyKind)
      const u = uniform(seed, c, S.countyUrbanity)
      const urbanity = kind < 0.18 ? 0.65 + 0.35 * u : kind < 0.45 ? 0.35 + 0.3 * u : 0.35 * u
      const name = uniqueName(usedNames, (attempt) => {
        const head = COUNTY_HEADS[pick(seed, c * 41 + attempt, S.countyName, COUNTY_HEADS.length)] ?? 'Oak'
        const tail = COUNTY_TAILS[pick(seed, c * 43 + attempt, S.countyName + 100, COUNTY_TAILS.length)] ?? 'field'
        return joinSyllables(head, tail)
      })
      counties.push({ name, state: s, urbanity, precincts: 0 })
      countyCentres.push({
        lat: box.south + (box.north - box.south) * uniform(seed, c, S.countyLat),
        lon: box.west + (box.east - box.west) * uniform(seed, c, S.countyLon),
      })
    }
  }
  const precinctsPerCounty = apportion(
    precinctCount,
    counties.map((c, i) => (0.4 + 2.5 * c.urbanity) * Math.exp(0.4 * normal(seed, i, S.countyWeight))),
    1,
  )

  // Precincts: near their county's centre (tighter in a city), urban like their county give or take.
  const precincts: Precinct[] = []
  for (let c = 0; c < counties.length; c++) {
    const county = counties[c]
    const centre = countyCentres[c]
    if (!county || !centre) continue
    const st = states[county.state]
    const box = stateBox(county.state)
    county.precincts = precinctsPerCounty[c] ?? 0
    const spread = 0.05 + 0.5 * (1 - county.urbanity)
    const countyNumber = c - (firstCounty[county.state] ?? 0) + 1
    for (let j = 0; j < county.precincts; j++) {
      const p = precincts.length
      const urbanity = clamp01(county.urbanity + 0.1 * normal(seed, p, S.precinctUrbanity))
      const lat = clamp(centre.lat + spread * normal(seed, p, S.precinctLat), box.south, box.north)
      const lon = clamp(centre.lon + spread * 1.3 * normal(seed, p, S.precinctLon), box.west, box.east)
      precincts.push({
        id: `${(st?.code ?? 'XX').toLowerCase()}-${pad(countyNumber, 2)}-${pad(j + 1, 3)}`,
        name: `${county.name} Co. P${j + 1}`,
        state: county.state,
        county: c,
        urbanity,
        weight: (0.5 + 1.5 * urbanity) * Math.exp(0.3 * normal(seed, p, S.precinctWeight)),
        lat: Math.round(lat * 10_000) / 10_000,
        lon: Math.round(lon * 10_000) / 10_000,
      })
    }
  }
  return { states, counties, precincts }
}

/** The first candidates are fixed (the defaults of earlier versions); past the list, names are made up. */
const KNOWN_CANDIDATES: Candidate[] = [
  { id: 'ada', name: 'Ada Lovelace', party: 'Analytical' },
  { id: 'alan', name: 'Alan Turing', party: 'Computable' },
  { id: 'grace', name: 'Grace Hopper', party: 'Compiler' },
  { id: 'edsger', name: 'Edsger Dijkstra', party: 'Structured' },
  { id: 'barbara', name: 'Barbara Liskov', party: 'Substitution' },
  { id: 'donald', name: 'Donald Knuth', party: 'Literate' },
  { id: 'margaret', name: 'Margaret Hamilton', party: 'Apollo' },
  { id: 'john', name: 'John McCarthy', party: 'Recursive' },
  { id: 'frances', name: 'Frances Allen', party: 'Optimizing' },
  { id: 'claude', name: 'Claude Shannon', party: 'Information' },
]
const GIVEN = ['Ida', 'Kurt', 'Emmy', 'Niklaus', 'Hedy', 'Ken', 'Sophie', 'Tim', 'Joan', 'Leslie', 'Karen', 'Robin']
const FAMILY_HEADS = ['Ber', 'Cal', 'Dan', 'Fen', 'Hol', 'Kess', 'Lind', 'Mor', 'Nord', 'Pell', 'Ran', 'Stroud', 'Thal', 'Wick']
const FAMILY_TAILS = ['sen', 'ley', 'ford', 'mann', 'stein', 'wick', 'berg', 'ton', 'ova', 'ard']
const PARTY_WORDS = ['Lambda', 'Boolean', 'Quantum', 'Relational', 'Functional', 'Concurrent', 'Heuristic', 'Symbolic', 'Distributed']

/** `count` candidates: the known ones first, then generated ones (same index, same candidate). */
export function candidatesFor(count: number): Candidate[] {
  const used = new Set(KNOWN_CANDIDATES.map((c) => c.id))
  return Array.from({ length: count }, (_, i) => {
    const known = KNOWN_CANDIDATES[i]
    if (known) return known
    const given = GIVEN[pick(0, i, 51, GIVEN.length)] ?? 'Ida'
    const family = joinSyllables(
      FAMILY_HEADS[pick(0, i, 52, FAMILY_HEADS.length)] ?? 'Ber',
      FAMILY_TAILS[pick(0, i, 53, FAMILY_TAILS.length)] ?? 'sen',
    )
    let id = `${given}-${family}`.toLowerCase()
    if (used.has(id)) id = `${id}-${i}`
    used.add(id)
    return { id, name: `${given} ${family}`, party: PARTY_WORDS[pick(0, i, 54, PARTY_WORDS.length)] ?? 'Lambda' }
  })
}

/** Joins two syllables, dropping a doubled letter at the seam ("Kal" + "ada" stays, "Ash" + "haven" → "Ashaven"). */
function joinSyllables(head: string, tail: string): string {
  const t = head.at(-1)?.toLowerCase() === tail[0] ? tail.slice(1) : tail
  return head + t
}

function uniqueName(used: Set<string>, make: (attempt: number) => string): string {
  for (let attempt = 0; attempt < 24; attempt++) {
    const name = make(attempt)
    if (!used.has(name)) {
      used.add(name)
      return name
    }
  }
  const base = make(0)
  for (let n = 2; ; n++) {
    const name = `${base} ${toRoman(n)}`
    if (!used.has(name)) {
      used.add(name)
      return name
    }
  }
}

/** A two-letter code from the name's letters (first letter, then another), unique among states. */
function uniqueCode(used: Set<string>, name: string, index: number): string {
  const letters = name.toUpperCase().replace(/[^A-Z]/g, '')
  const first = letters[0] ?? 'S'
  const candidates = [...letters.slice(1), ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((l) => first + l)
  const code = candidates.find((c) => !used.has(c)) ?? `S${index}`
  used.add(code)
  return code
}

function toRoman(n: number): string {
  const table: Array<[number, string]> = [
    [10, 'X'],
    [9, 'IX'],
    [5, 'V'],
    [4, 'IV'],
    [1, 'I'],
  ]
  let out = ''
  for (const [v, s] of table) {
    while (n >= v) {
      out += s
      n -= v
    }
  }
  return out
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x))
const clamp01 = (x: number) => clamp(x, 0, 1)
