import { describe, expect, it } from 'vitest'
import { type Channel, idSchema, marksSchema } from './ballot.ts'
import { DISTRICT_LEVELS, electionDefinitionSchema, measurePasses, resolveDefinition, WRITE_IN_SELECTION } from './contests.ts'
import { generateDefinition, headlineContests, markBallot, regionsFromGeography } from './simulation-contests.ts'
import { geography } from './simulation-geography.ts'
import { pick } from './simulation-random.ts'
import { indexDefinition, tabulateBallot } from './tabulation.ts'

const SEED = 2026
const CHANNELS: Channel[] = ['early', 'election_day', 'mail']

function election(seed: number, precincts: number) {
  const regions = regionsFromGeography(geography(seed, precincts))
  const definition = generateDefinition(seed, regions)
  const parsed = electionDefinitionSchema.parse(definition)
  const resolved = resolveDefinition(parsed, regions)
  if (!resolved.ok) throw new Error(`does not resolve: ${JSON.stringify(resolved.issues)}`)
  return { regions, definition, parsed, resolved: resolved.resolved, index: indexDefinition(resolved.resolved) }
}

const styleSizes = (e: ReturnType<typeof election>) => [...e.resolved.styles.values()].map((s) => s.length)

describe('the generated election definition', () => {
  it.each([1000, 5000])(
    'gives a county-sized run of %i precincts a long ballot: 140–170 contests, 20–40 on every style, every level',
    (n) => {
      const e = election(SEED, n)
      const { parsed, regions, resolved } = e
      expect(regions).toHaveLength(n)
      for (const r of regions) expect(resolved.styleOfRegion.has(r.id)).toBe(true)
      expect(parsed.contests.length).toBeGreaterThanOrEqual(140)
      expect(parsed.contests.length).toBeLessThanOrEqual(170)
      const sizes = styleSizes(e)
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(20)
      expect(Math.max(...sizes)).toBeLessThanOrEqual(40)
      expect(new Set(parsed.districts.map((d) => d.level))).toEqual(new Set(DISTRICT_LEVELS))
      // Not every precinct is in a city, and a city lies inside one county.
      const inCity = new Set(parsed.districts.filter((d) => d.level === 'city').flatMap((d) => d.regions ?? []))
      expect(inCity.size).toBeGreaterThan(0)
      expect(inCity.size).toBeLessThan(n)
      console.log(
        `${n} precincts: ${parsed.districts.length} districts, ${parsed.contests.length} contests, ${sizes.length} styles of ${Math.min(...sizes)}–${Math.max(...sizes)} contests`,
      )
    },
  )

  it.each([1000, 5000])('names everything by the id rule and shapes contests as asked (%i precincts)', (n) => {
    const { parsed } = election(SEED, n)
    for (const d of parsed.districts) expect(idSchema.safeParse(d.id).success, d.id).toBe(true)
    let writeInLines = 0
    let declaredWriteIns = 0
    for (const c of parsed.contests) {
      expect(idSchema.safeParse(c.id).success, c.id).toBe(true)
      if (c.type === 'measure') continue
      for (const s of c.candidates) {
        expect(idSchema.safeParse(s.id).success, s.id).toBe(true)
        expect(s.id).not.toBe(WRITE_IN_SELECTION)
      }
      if (c.writeIns) writeInLines++
      if (c.candidates.some((s) => s.writeIn)) declaredWriteIns++
      if (c.votesAllowed === 1) {
        expect(c.candidates.length, c.id).toBeGreaterThanOrEqual(2)
        expect(c.candidates.length, c.id).toBeLessThanOrEqual(5)
        for (const s of c.candidates) expect(s.party, `${c.id} ${s.id}`).toBeTruthy()
      } else {
        expect(c.votesAllowed, c.id).toBeGreaterThanOrEqual(2)
        expect(c.votesAllowed, c.id).toBeLessThanOrEqual(4)
        expect(c.numberElected, c.id).toBe(c.votesAllowed)
        expect(c.candidates.length, c.id).toBeGreaterThanOrEqual(4)
        expect(c.candidates.length, c.id).toBeLessThanOrEqual(9)
      }
    }
    expect(writeInLines).toBeGreaterThan(0)
    expect(declaredWriteIns).toBeGreaterThan(0)
    expect(parsed.contests.filter((c) => c.type === 'candidate' && c.votesAllowed > 1).length).toBeGreaterThan(0)
    const thresholds = new Set(
      parsed.contests.flatMap((c) => (c.type === 'measure' ? [`${c.threshold.numerator}/${c.threshold.denominator}`] : [])),
    )
    expect(thresholds).toEqual(new Set(['1/2', '11/20', '2/3']))
  })

  it.each([1, 2, 10, 300])('covers every region of a small run (%i precincts) with at least 5 contests, and fewer in all', (n) => {
    const e = election(SEED, n)
    for (const r of e.regions) expect(e.resolved.styleOfRegion.has(r.id)).toBe(true)
    const sizes = styleSizes(e)
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(5)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(40)
    expect(e.parsed.contests.length).toBeLessThan(140)
    console.log(`${n} precincts: ${e.parsed.contests.length} contests, styles of ${Math.min(...sizes)}–${Math.max(...sizes)}`)
  })

  it('reads the county from the name when the regions do not carry it', () => {
    const regions = regionsFromGeography(geography(SEED, 300))
    const bare = regions.map(({ id, name, state }) => ({ id, name, state }))
    expect(generateDefinition(SEED, bare)).toEqual(generateDefinition(SEED, regions))
  })

  it('is a function of the seed and the regions', () => {
    const regions = regionsFromGeography(geography(SEED, 1000))
    const a = generateDefinition(SEED, regions)
    expect(generateDefinition(SEED, regions)).toEqual(a)
    expect(generateDefinition(SEED + 1, regions)).not.toEqual(a)
  })

  it('headlines the widest race, a measure and a council', () => {
    const { definition, parsed } = election(SEED, 1000)
    const ids = headlineContests(definition)
    expect(ids).toEqual(headlineContests(parsed))
    expect(ids).toHaveLength(3)
    const byId = new Map(parsed.contests.map((c) => [c.id, c]))
    const [race, measure, council] = ids.map((id) => byId.get(id))
    expect(race).toMatchObject({ type: 'candidate', votesAllowed: 1, district: 'nation' })
    expect(measure?.type).toBe('measure')
    expect(council?.type === 'candidate' && council.votesAllowed > 1).toBe(true)
    expect(headlineContests(definition, 5)).toHaveLength(5)
  })
})

describe('the generated ballots', () => {
  const e = election(SEED, 1000)
  const N = 20_000
  const regionOf = (k: number) => e.regions[pick(SEED, k, 9, e.regions.length)]?.id ?? ''
  const channelOf = (k: number) => CHANNELS[k % 3] as Channel
  const ballots = Array.from({ length: N }, (_, k) => markBallot(SEED, k, e.index, regionOf(k), channelOf(k)))

  it('are a function of (seed, k)', () => {
    for (const k of [0, 1, 777, N - 1]) expect(markBallot(SEED, k, e.index, regionOf(k), channelOf(k))).toEqual(ballots[k])
    // Asked for from a fresh index (no cache), out of order: the same ballot.
    const again = election(SEED, 1000)
    expect(markBallot(SEED, 4321, again.index, regionOf(4321), channelOf(4321))).toEqual(ballots[4321])
    expect(markBallot(SEED + 1, 4321, e.index, regionOf(4321), channelOf(4321))).not.toEqual(ballots[4321])
  })

  it('all count: the contract accepts them and the tabulation rejects none', () => {
    for (const [k, marks] of ballots.entries()) {
      const t = tabulateBallot(e.index, regionOf(k), marks)
      if (!t.ok) throw new Error(`ballot ${k} rejected: ${t.reason} ${t.detail}`)
      if (k % 10 === 0) expect(marksSchema.safeParse(marks).success).toBe(true)
    }
  })

  it('behave like voters: roll-off, partial undervotes, rare overvotes, a few write-ins, results that differ by place and channel', () => {
    let outcomes = 0
    let overvotes = 0
    let writeIns = 0
    let partial = 0
    const blank = { first: 0, last: 0 }
    const measures = new Map<string, { yes: number; no: number }>()
    const president = e.parsed.contests.find((c) => c.id === 'nation.president')
    const harbor = president?.type === 'candidate' ? president.candidates.find((s) => s.party === 'Harbor')?.id : undefined
    const byState = new Map<string, { harbor: number; all: number }>()
    const byChannel = new Map<Channel, { harbor: number; all: number }>()
    const stateOf = new Map(e.regions.map((r) => [r.id, r.state]))
    for (const [k, marks] of ballots.entries()) {
      const t = tabulateBallot(e.index, regionOf(k), marks)
      if (!t.ok) throw new Error(t.detail)
      const last = t.contests.length - 1
      for (const [i, o] of t.contests.entries()) {
        outcomes++
        overvotes += o.overvoted
        const rules = e.index.contests.get(o.contestId)
        const isBlank = o.overvoted === 0 && o.selections.length === 0
        if (i === 0 && isBlank) blank.first++
        if (i === last && isBlank) blank.last++
        if (rules && rules.votesAllowed > 1 && o.selections.length > 0 && o.undervotes > 0) partial++
        writeIns += o.selections.filter((s) => s === WRITE_IN_SELECTION).length
        if (rules?.type === 'measure' && o.selections.length === 1) {
          const m = measures.get(o.contestId) ?? { yes: 0, no: 0 }
          if (o.selections[0] === 'yes') m.yes++
          else m.no++
          measures.set(o.contestId, m)
        }
        if (o.contestId === 'nation.president' && o.selections.length === 1) {
          const s = stateOf.get(regionOf(k)) ?? ''
          const st = byState.get(s) ?? { harbor: 0, all: 0 }
          const ch = byChannel.get(channelOf(k)) ?? { harbor: 0, all: 0 }
          const h = o.selections[0] === harbor ? 1 : 0
          st.harbor += h
          st.all++
          ch.harbor += h
          ch.all++
          byState.set(s, st)
          byChannel.set(channelOf(k), ch)
        }
      }
    }
    const overvoteRate = overvotes / outcomes
    const share = (x: { harbor: number; all: number } | undefined) => (x ? x.harbor / x.all : 0)
    const stateShares = [...byState.values()].map(share)
    const decided = [...measures.entries()].filter(([, m]) => m.yes + m.no >= 200)
    const passing = decided.filter(([id, m]) => {
      const threshold = e.index.contests.get(id)?.threshold
      return threshold ? measurePasses(threshold, m.yes, m.no) : false
    }).length
    console.log(
      `${N} ballots, ${outcomes} contest outcomes: overvotes ${(100 * overvoteRate).toFixed(2)} %, blank first ${((100 * blank.first) / N).toFixed(1)} % / last ${((100 * blank.last) / N).toFixed(1)} %, ` +
        `${writeIns} write-ins, ${partial} partial vote-for-N, measures passing ${passing}/${decided.length}, ` +
        `Harbor for President by state ${Math.round(100 * Math.min(...stateShares))}–${Math.round(100 * Math.max(...stateShares))} %, ` +
        `early ${Math.round(100 * share(byChannel.get('early')))} % / election day ${Math.round(100 * share(byChannel.get('election_day')))} % / mail ${Math.round(100 * share(byChannel.get('mail')))} %`,
    )
    expect(overvoteRate).toBeGreaterThan(0.001)
    expect(overvoteRate).toBeLessThan(0.01)
    expect(blank.last).toBeGreaterThan(3 * blank.first)
    expect(writeIns).toBeGreaterThan(0)
    expect(partial).toBeGreaterThan(0)
    expect(passing).toBeGreaterThan(0)
    expect(passing).toBeLessThan(decided.length)
    expect(Math.max(...stateShares) - Math.min(...stateShares)).toBeGreaterThan(0.05)
    expect(Math.abs(share(byChannel.get('mail')) - share(byChannel.get('election_day')))).toBeGreaterThan(0.05)
  })

  it('are quick to make (timing printed, not asserted)', () => {
    const runs = 3
    const started = performance.now()
    for (let r = 0; r < runs; r++) for (let k = 0; k < N; k++) markBallot(SEED, k, e.index, regionOf(k), channelOf(k))
    const perBallot = ((performance.now() - started) * 1000) / (runs * N)
    const contests = ballots.reduce((s, b) => s + Object.keys(b).length, 0) / N
    console.log(`markBallot: ${perBallot.toFixed(2)} µs/ballot (${contests.toFixed(1)} contests marked per ballot)`)
  })
})
