import { describe, expect, it } from 'vitest'
import { type Channel, idSchema, marksSchema } from './ballot.ts'
import { DISTRICT_LEVELS, electionDefinitionSchema, measurePasses, resolveDefinition, WRITE_IN_SELECTION } from './contests.ts'
import { rcvRulesSchema } from './rcv/rules.ts'
import { tabulate } from './rcv/tabulate.ts'
import { generateDefinition, generateRankedDefinition, headlineContests, markBallot, regionsFromGeography } from './simulation-contests.ts'
import { geography } from './simulation-geography.ts'
import { pick } from './simulation-random.ts'
import { indexDefinition, rcvRanking, tabulateBallot } from './tabulation.ts'

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
      if (c.rcv) continue // the ranked contests' shapes: their own test below
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

  it.each([1000, 5000])(
    'elects by ranked choice each city’s mayor and one council seat, and the largest county’s executive (%i precincts)',
    (n) => {
      const { parsed, resolved } = election(SEED, n)
      const ranked = parsed.contests.flatMap((c) => (c.type === 'candidate' && c.rcv ? [{ ...c, rcv: c.rcv }] : []))
      const cities = parsed.districts.filter((d) => d.level === 'city' && !d.id.includes('-council-'))
      expect(cities.length).toBeGreaterThan(0)
      for (const city of cities) {
        expect(ranked.some((c) => c.id === `${city.id}.mayor`)).toBe(true)
        expect(ranked.filter((c) => c.district.startsWith(`${city.id}-council-`))).toHaveLength(1)
      }
      expect(ranked.filter((c) => c.id.endsWith('.executive'))).toHaveLength(1)
      expect(ranked).toHaveLength(2 * cities.length + 1)
      const onBallots = new Set([...resolved.styles.values()].flat())
      for (const c of ranked) {
        expect(c.name, c.id).toMatch(/\(ranked choice\)$/)
        expect(c.candidates.length, c.id).toBeGreaterThanOrEqual(4)
        expect(c.candidates.length, c.id).toBeLessThanOrEqual(9)
        expect(c.candidates.some((s) => s.writeIn)).toBe(false)
        expect(c.rcv.ranksAllowed, c.id).toBeGreaterThanOrEqual(3)
        expect(c.rcv.ranksAllowed, c.id).toBeLessThanOrEqual(Math.min(6, c.candidates.length))
        expect(c.rcv.tiebreakSeed).toMatch(/^dice [1-6]{10}$/)
        // Its district is covered: the contest is on some region's ballot.
        expect(onBallots.has(c.id), c.id).toBe(true)
      }
      // A city council district lies inside its city.
      for (const d of parsed.districts.filter((x) => x.id.includes('-council-'))) {
        const city = cities.find((x) => d.id.startsWith(`${x.id}-council-`))
        for (const r of d.regions ?? []) expect(city?.regions).toContain(r)
      }
    },
  )

  it('draws the ranked contests’ rules from the seed: New York City’s for most, Maine’s and stricter for some, every option used', () => {
    const rules = [2026, 2027, 2028, 2029].flatMap((seed) =>
      election(seed, 1000).parsed.contests.flatMap((c) => (c.type === 'candidate' && c.rcv ? [c.rcv] : [])),
    )
    const share = (f: (r: (typeof rules)[number]) => boolean) => rules.filter(f).length / rules.length
    const nyc = share((r) => r.overvoteRule === 'alwaysSkipToNextRank' && r.maxSkippedRanksAllowed === 'unlimited')
    console.log(
      `${rules.length} ranked contests: NYC rules ${Math.round(100 * nyc)} %, ` +
        `exhaustOnDuplicate ${Math.round(100 * share((r) => r.duplicateRankingRule === 'exhaustOnDuplicate'))} %, ` +
        `batch elimination ${Math.round(100 * share((r) => r.batchElimination))} %, ranks ${Math.min(...rules.map((r) => r.ranksAllowed))}–${Math.max(...rules.map((r) => r.ranksAllowed))}`,
    )
    expect(nyc).toBeGreaterThan(0.4)
    expect(nyc).toBeLessThan(0.75)
    expect(new Set(rules.map((r) => `${r.overvoteRule} ${r.maxSkippedRanksAllowed}`))).toEqual(
      new Set(['alwaysSkipToNextRank unlimited', 'exhaustImmediately 1', 'exhaustImmediately 0']),
    )
    expect(new Set(rules.map((r) => r.duplicateRankingRule))).toEqual(new Set(['skipDuplicate', 'exhaustOnDuplicate']))
    expect(new Set(rules.map((r) => r.batchElimination))).toEqual(new Set([true, false]))
    expect(new Set(rules.map((r) => r.tiebreakMode))).toEqual(new Set(['random', 'previousRoundCountsThenRandom']))
    expect(new Set(rules.map((r) => r.tiebreakSeed)).size).toBe(rules.length)
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

  it('rank like voters in ranked contests: within the ranks offered, mostly one to three, rare overvotes, skips and repeats, a lean by channel', () => {
    const ranked = [...e.index.contests.values()].filter((c) => c.rcv)
    let rankings = 0
    let blank = 0
    let ranks = 0
    const made = { overvoted: 0, skipped: 0, repeated: 0 }
    const lengths = new Map<string, number>()
    // The mayors' races: the Harbor candidates' share of first choices, by channel (mail leans Harbor, election day Frontier).
    const harbor = new Set(
      ranked.flatMap((c) => (c.id.endsWith('.mayor') ? c.selections.filter((s) => s.party === 'Harbor') : [])).map((s) => s.id),
    )
    const firstOf = new Map<Channel, { harbor: number; all: number }>()
    for (const [k, marks] of ballots.entries()) {
      const style = e.resolved.styles.get(e.resolved.styleOfRegion.get(regionOf(k)) ?? '') ?? []
      for (const c of ranked) {
        if (!style.includes(c.id)) continue
        const ranking = marks[c.id]
        if (!ranking) {
          blank++
          continue
        }
        rankings++
        const max = c.rcv?.ranksAllowed ?? 0
        expect(ranking.length).toBeGreaterThan(0)
        expect(ranking.length).toBeLessThanOrEqual(max)
        const seen = new Set<string>()
        let marked = 0
        for (const m of ranking) {
          // A single mark is a plain id; a list only for a skipped rank or an overvote, of distinct candidates.
          const ids = typeof m === 'string' ? [m] : Array.isArray(m) ? m : []
          expect(Array.isArray(m) && m.length === 1).toBe(false)
          expect(typeof m === 'string' || Array.isArray(m)).toBe(true)
          expect(new Set(ids).size).toBe(ids.length)
          for (const id of ids) expect(e.index.selections.get(c.id)?.has(id)).toBe(true)
          if (ids.length === 0) made.skipped++
          if (ids.length > 1) made.overvoted++
          if (ids.length === 1 && seen.has(ids[0] as string)) made.repeated++
          for (const id of ids) seen.add(id)
          if (ids.length > 0) marked++
        }
        ranks += ranking.length
        expect(ranking.at(-1)).not.toEqual([])
        const key = marked >= Math.min(max, c.selections.length) ? 'all' : String(marked)
        lengths.set(key, (lengths.get(key) ?? 0) + 1)
        const first = ranking[0]
        if (c.id.endsWith('.mayor') && typeof first === 'string') {
          const f = firstOf.get(channelOf(k)) ?? { harbor: 0, all: 0 }
          f.harbor += harbor.has(first) ? 1 : 0
          f.all++
          firstOf.set(channelOf(k), f)
        }
      }
    }
    const rate = (x: number) => x / ranks
    const share = (key: string) => (lengths.get(key) ?? 0) / rankings
    const firstShare = (ch: Channel) => (firstOf.get(ch)?.harbor ?? 0) / (firstOf.get(ch)?.all ?? 1)
    const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`
    console.log(
      `${rankings} rankings in ${ranked.length} ranked contests (${blank} left blank): ranked 1 ${pct(share('1'), 0)}, 2 ${pct(share('2'), 0)}, ` +
        `3 ${pct(share('3'), 0)}, all ${pct(share('all'), 0)}; per rank overvoted ${pct(rate(made.overvoted), 2)}, skipped ${pct(rate(made.skipped))}, ` +
        `repeated ${pct(rate(made.repeated))}; Harbor first for mayor: mail ${pct(firstShare('mail'), 0)}, election day ${pct(firstShare('election_day'), 0)}`,
    )
    expect(rankings).toBeGreaterThan(1000)
    expect(blank).toBeGreaterThan(0)
    expect(share('1') + share('2') + share('3')).toBeGreaterThan(0.6)
    expect(share('all')).toBeGreaterThan(0.05)
    expect(rate(made.overvoted)).toBeGreaterThan(0.001)
    expect(rate(made.overvoted)).toBeLessThan(0.01)
    expect(rate(made.skipped)).toBeGreaterThan(0.01)
    expect(rate(made.skipped)).toBeLessThan(0.05)
    expect(rate(made.repeated)).toBeGreaterThan(0.002)
    expect(rate(made.repeated)).toBeLessThan(0.02)
    expect(Math.abs(firstShare('mail') - firstShare('election_day'))).toBeGreaterThan(0.05)
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

describe("the ranked-only ballot (New York City's 2021 mayoral primary, for the benchmark)", () => {
  const regions = regionsFromGeography(geography(SEED, 300))
  const parsed = electionDefinitionSchema.parse(generateRankedDefinition(SEED, regions))
  const resolved = resolveDefinition(parsed, regions)
  if (!resolved.ok) throw new Error(`does not resolve: ${JSON.stringify(resolved.issues)}`)
  const index = indexDefinition(resolved.resolved)
  const [mayor] = parsed.contests

  it('has one contest on every ballot: 13 candidates, 5 ranks, the city rules', () => {
    expect(parsed.contests).toHaveLength(1)
    expect(mayor?.type).toBe('candidate')
    if (mayor?.type !== 'candidate') return
    expect(mayor.candidates).toHaveLength(13)
    expect(mayor.rcv).toMatchObject({ ranksAllowed: 5, overvoteRule: 'alwaysSkipToNextRank', maxSkippedRanksAllowed: 'unlimited' })
    for (const r of regions) expect(resolved.resolved.styles.get(resolved.resolved.styleOfRegion.get(r.id) ?? '')).toEqual([mayor.id])
  })

  it('gets ballots that all count and a tabulation of several rounds', () => {
    if (mayor?.type !== 'candidate' || !mayor.rcv) throw new Error('no ranked mayor')
    const rankings = Array.from({ length: 5000 }, (_, k) => {
      const region = regions[k % regions.length]?.id ?? ''
      const marks = markBallot(SEED, k, index, region, CHANNELS[k % 3] as Channel)
      const t = tabulateBallot(index, region, marks)
      if (!t.ok) throw new Error(`ballot ${k} rejected: ${t.reason} ${t.detail}`)
      return rcvRanking(marks[mayor.id] ?? [])
    })
    const result = tabulate(
      rcvRulesSchema.parse(mayor.rcv),
      mayor.candidates.map((c) => c.id),
      rankings,
    )
    expect(result.ballots).toBe(5000)
    expect(result.rounds.length).toBeGreaterThan(1)
    expect(mayor.candidates.map((c) => c.id)).toContain(result.winner)
  })
})
