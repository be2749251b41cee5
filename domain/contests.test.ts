import { describe, expect, it } from 'vitest'
import {
  CONTEST_LIMITS,
  countedSelectionIds,
  type ElectionDefinitionInput,
  electionDefinitionSchema,
  measurePasses,
  type RegionPlace,
  resolveDefinition,
} from './contests.ts'

/**
 * The election definition: every bad definition is refused with an issue whose path names
 * the field at fault, districts resolve against the map, ballot styles follow from them,
 * and a measure passes by exact integer arithmetic on its threshold.
 */

type ContestInput = ElectionDefinitionInput['contests'][number]
type DistrictInput = ElectionDefinitionInput['districts'][number]

const whole: DistrictInput = { id: 'all', name: 'The whole election' }

const mayor = (over: Record<string, unknown> = {}): ContestInput =>
  ({
    id: 'mayor',
    name: 'Mayor',
    district: 'all',
    type: 'candidate',
    candidates: [
      { id: 'ada', name: 'Ada Lovelace' },
      { id: 'alan', name: 'Alan Turing' },
    ],
    ...over,
  }) as ContestInput

const measure = (over: Record<string, unknown> = {}): ContestInput =>
  ({ id: 'prop-1', name: 'Proposition 1', district: 'all', type: 'measure', ...over }) as ContestInput

const definition = (contests: ContestInput[], districts: DistrictInput[] = [whole]): ElectionDefinitionInput => ({ districts, contests })

/** The issues of a definition refused, as (path, message) pairs. */
function issuesOf(input: unknown) {
  const parsed = electionDefinitionSchema.safeParse(input)
  expect(parsed.success).toBe(false)
  return (parsed.error?.issues ?? []).map((i) => ({ path: i.path, message: i.message }))
}

const parse = (input: ElectionDefinitionInput) => electionDefinitionSchema.parse(input)

describe('the election definition schema', () => {
  it('accepts a sound definition and fills in its defaults', () => {
    const d = parse(definition([mayor(), measure()]))
    expect(d.districts[0]).toEqual({ id: 'all', name: 'The whole election', level: 'other' })
    const [c, m] = d.contests
    expect(c).toMatchObject({ type: 'candidate', votesAllowed: 1, writeIns: false })
    if (c?.type === 'candidate') {
      expect(c.numberElected).toBeUndefined()
      expect(c.candidates.map((s) => s.writeIn)).toEqual([false, false])
    }
    expect(m).toMatchObject({ type: 'measure', threshold: { numerator: 1, denominator: 2 } })
  })

  it('names the second of two contests with the same id', () => {
    expect(issuesOf(definition([mayor(), measure({ id: 'mayor' })]))).toContainEqual({
      path: ['contests', 1, 'id'],
      message: 'mayor appears twice',
    })
  })

  it('names the second of two districts with the same id', () => {
    expect(issuesOf(definition([mayor()], [whole, { id: 'all', name: 'Again' }]))).toContainEqual({
      path: ['districts', 1, 'id'],
      message: 'all appears twice',
    })
  })

  it('names the second of two candidates with the same id in a contest', () => {
    const c = mayor({
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'alan', name: 'Alan' },
        { id: 'ada', name: 'Ada again' },
      ],
    })
    expect(issuesOf(definition([measure(), c]))).toContainEqual({
      path: ['contests', 1, 'candidates', 2, 'id'],
      message: 'ada appears twice',
    })
  })

  it('allows the same candidate id in two different contests', () => {
    expect(electionDefinitionSchema.safeParse(definition([mayor(), mayor({ id: 'council' })])).success).toBe(true)
  })

  it('names the district field of a contest whose district does not exist', () => {
    expect(issuesOf(definition([mayor(), measure({ district: 'county-9' })]))).toContainEqual({
      path: ['contests', 1, 'district'],
      message: 'no district county-9',
    })
  })

  it('refuses a vote-for-0', () => {
    const issues = issuesOf(definition([mayor({ votesAllowed: 0 })]))
    expect(issues.map((i) => i.path)).toContainEqual(['contests', 0, 'votesAllowed'])
  })

  it('refuses a vote-for-N above its selections when there are no write-in lines', () => {
    expect(issuesOf(definition([mayor({ votesAllowed: 3 })]))).toContainEqual({
      path: ['contests', 0, 'votesAllowed'],
      message: 'vote for 3 with only 2 selections',
    })
    const one = mayor({ votesAllowed: 2, candidates: [{ id: 'ada', name: 'Ada' }] })
    expect(issuesOf(definition([one]))).toContainEqual({
      path: ['contests', 0, 'votesAllowed'],
      message: 'vote for 2 with only 1 selection',
    })
    // Exactly as many as the selections: fine.
    expect(electionDefinitionSchema.safeParse(definition([mayor({ votesAllowed: 2 })])).success).toBe(true)
  })

  it('counts the write-in lines (one per vote allowed) as selections', () => {
    const one = mayor({ votesAllowed: 3, writeIns: true, candidates: [{ id: 'ada', name: 'Ada' }] })
    expect(electionDefinitionSchema.safeParse(definition([one])).success).toBe(true)
    // The same contest without write-in lines is a vote-for-3 with one selection.
    expect(issuesOf(definition([{ ...one, writeIns: false } as ContestInput]))).toContainEqual({
      path: ['contests', 0, 'votesAllowed'],
      message: 'vote for 3 with only 1 selection',
    })
  })

  it('refuses more seats than votes allowed, and takes seats = votes when not given', () => {
    const c = mayor({
      votesAllowed: 2,
      numberElected: 3,
      candidates: ['a', 'b', 'c', 'd'].map((id) => ({ id, name: id.toUpperCase() })),
    })
    const issues = issuesOf(definition([c]))
    expect(issues).toContainEqual({ path: ['contests', 0, 'numberElected'], message: 'more seats than votes allowed (2)' })
    expect(issues.map((i) => i.path)).not.toContainEqual(['contests', 0, 'votesAllowed'])
    const ok = resolveDefinition(parse(definition([{ ...c, numberElected: 1 } as ContestInput, mayor({ id: 'c2', votesAllowed: 2 })])), [
      { id: 'r1', state: 'AA' },
    ])
    expect(ok.ok && ok.resolved.contests.map((x) => [x.votesAllowed, x.numberElected])).toEqual([
      [2, 1],
      [2, 2],
    ])
  })

  it('refuses a votesAllowed above the limit, naming it', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ id: `c${i}`, name: `Candidate ${i}` }))
    const issues = issuesOf(definition([mayor({ votesAllowed: CONTEST_LIMITS.votesAllowed + 1, candidates: many })]))
    const at = issues.find((i) => i.path.join('.') === 'contests.0.votesAllowed')
    expect(at?.message).toContain(String(CONTEST_LIMITS.votesAllowed))
  })

  it('refuses a candidate with the id of the write-in line', () => {
    const c = mayor({
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'write-in', name: 'Somebody' },
      ],
    })
    expect(issuesOf(definition([c])).map((i) => i.path)).toContainEqual(['contests', 0, 'candidates', 1, 'id'])
  })

  it('refuses control characters in every name, naming the field', () => {
    const cases: Array<[ElectionDefinitionInput, Array<string | number>]> = [
      [definition([mayor({ name: 'Mayor\u0007' })]), ['contests', 0, 'name']],
      [definition([mayor({ candidates: [{ id: 'ada', name: 'Ada\nLovelace' }] })]), ['contests', 0, 'candidates', 0, 'name']],
      [definition([mayor({ candidates: [{ id: 'ada', name: 'Ada', party: 'Whig\u0000' }] })]), ['contests', 0, 'candidates', 0, 'party']],
      [definition([mayor()], [{ id: 'all', name: 'All\u0000' }]), ['districts', 0, 'name']],
      [definition([measure({ text: 'Shall the\u001bcity…' })]), ['contests', 0, 'text']],
      [definition([mayor()], [{ id: 'all', name: 'All', states: ['Cali\u0085fornia'] }]), ['districts', 0, 'states', 0]],
    ]
    for (const [input, path] of cases) {
      const issues = issuesOf(input)
      expect(issues).toContainEqual({ path, message: 'must not contain control characters' })
    }
  })

  it('refuses unknown keys at every level', () => {
    const unknown = (input: unknown, path: Array<string | number>) => {
      const parsed = electionDefinitionSchema.safeParse(input)
      expect(parsed.success).toBe(false)
      const issue = parsed.error?.issues.find((i) => i.code === 'unrecognized_keys')
      expect(issue?.path).toEqual(path)
      expect(issue?.message).toContain('extra')
    }
    unknown({ ...definition([mayor()]), extra: 1 }, [])
    unknown(definition([mayor(), measure({ extra: 1 })]), ['contests', 1])
    unknown(definition([mayor({ extra: 1 })]), ['contests', 0])
    unknown(definition([mayor({ candidates: [{ id: 'ada', name: 'Ada', extra: 1 }] })]), ['contests', 0, 'candidates', 0])
    unknown(definition([mayor()], [{ id: 'all', name: 'All', extra: 1 } as DistrictInput]), ['districts', 0])
  })

  it('refuses a measure with the fields of a candidate contest (strict objects)', () => {
    const issues = issuesOf(definition([measure({ votesAllowed: 1 })]))
    expect(issues.map((i) => i.path)).toContainEqual(['contests', 0])
  })

  it('refuses a district given both states and regions', () => {
    expect(issuesOf(definition([mayor()], [{ id: 'all', name: 'All', states: ['AA'], regions: ['r1'] }]))).toContainEqual({
      path: ['districts', 0, 'regions'],
      message: 'give states or regions, not both',
    })
  })

  it(`refuses ${CONTEST_LIMITS.contests + 1} contests, naming the limit, and accepts ${CONTEST_LIMITS.contests}`, () => {
    const contests = (n: number) => Array.from({ length: n }, (_, i) => measure({ id: `m${i}`, name: `Measure ${i}` }))
    const issues = issuesOf(definition(contests(CONTEST_LIMITS.contests + 1)))
    const at = issues.find((i) => i.path.length === 1 && i.path[0] === 'contests')
    expect(at?.message).toContain(String(CONTEST_LIMITS.contests))
    expect(electionDefinitionSchema.safeParse(definition(contests(CONTEST_LIMITS.contests))).success).toBe(true)
  })

  it('refuses a definition with no contests or no districts', () => {
    expect(issuesOf(definition([])).map((i) => i.path)).toContainEqual(['contests'])
    expect(issuesOf({ districts: [], contests: [mayor()] }).map((i) => i.path)).toContainEqual(['districts'])
  })

  it('refuses ids that break the id rule', () => {
    expect(issuesOf(definition([mayor({ id: 'mayor of town' })])).map((i) => i.path)).toContainEqual(['contests', 0, 'id'])
    expect(issuesOf(definition([mayor({ id: '-mayor' })])).map((i) => i.path)).toContainEqual(['contests', 0, 'id'])
  })
})

describe('measure thresholds', () => {
  const thresholdOf = (threshold: unknown) => {
    const d = electionDefinitionSchema.safeParse(definition([measure({ threshold })]))
    if (!d.success) return { issues: d.error.issues.map((i) => ({ path: i.path, message: i.message })) }
    const m = d.data.contests[0]
    return m?.type === 'measure' ? m.threshold : undefined
  }
  const refused = (threshold: unknown) => {
    const t = thresholdOf(threshold)
    expect(t).toHaveProperty('issues')
    return (t as { issues: Array<{ path: PropertyKey[]; message: string }> }).issues
  }

  it('stores "2/3" as exactly 2/3', () => {
    expect(thresholdOf('2/3')).toEqual({ numerator: 2, denominator: 3 })
  })
  it('stores 0.55 as 11/20', () => {
    expect(thresholdOf(0.55)).toEqual({ numerator: 11, denominator: 20 })
  })
  it('stores 0.5 and "1/2" as the simple majority, 1 as 1/1', () => {
    expect(thresholdOf(0.5)).toEqual({ numerator: 1, denominator: 2 })
    expect(thresholdOf('1/2')).toEqual({ numerator: 1, denominator: 2 })
    expect(thresholdOf(1)).toEqual({ numerator: 1, denominator: 1 })
    expect(thresholdOf('3/3')).toEqual({ numerator: 3, denominator: 3 })
  })
  it('refuses 0, naming the threshold', () => {
    expect(refused(0)).toContainEqual({ path: ['contests', 0, 'threshold'], message: 'must lie in (0, 1]' })
  })
  it('refuses 1.2, naming the threshold', () => {
    expect(refused(1.2)).toContainEqual({ path: ['contests', 0, 'threshold'], message: 'must lie in (0, 1]' })
  })
  it('refuses "3/2", naming the threshold', () => {
    expect(refused('3/2')).toContainEqual({ path: ['contests', 0, 'threshold'], message: 'must lie in (0, 1]' })
  })
  it('refuses negative numbers, NaN-like input and fractions that are not fractions', () => {
    for (const t of [-0.5, '0/3', '2/0', '-1/2', '2/3 ', '0.55', '1/2/3', '', null, true]) {
      const issues = refused(t)
      expect(issues.map((i) => i.path)).toContainEqual(['contests', 0, 'threshold'])
    }
  })
})

describe('measurePasses', () => {
  const majority = { numerator: 1, denominator: 2 }
  const fiftyFive = { numerator: 11, denominator: 20 }
  const twoThirds = { numerator: 2, denominator: 3 }
  const unanimity = { numerator: 1, denominator: 1 }

  it('fails a simple-majority tie and passes 50 % + 1', () => {
    expect(measurePasses(majority, 50, 50)).toBe(false)
    expect(measurePasses(majority, 51, 50)).toBe(true)
    expect(measurePasses(majority, 1, 1)).toBe(false)
    expect(measurePasses(majority, 2, 1)).toBe(true)
    expect(measurePasses(majority, 49, 50)).toBe(false)
    expect(measurePasses(majority, 1, 0)).toBe(true)
  })
  it('treats an unreduced 1/2 (2/4) as the simple majority too: a tie fails', () => {
    expect(measurePasses({ numerator: 2, denominator: 4 }, 10, 10)).toBe(false)
  })
  it('passes 55 % at exactly 55 % and fails just under', () => {
    expect(measurePasses(fiftyFive, 55, 45)).toBe(true)
    expect(measurePasses(fiftyFive, 11, 9)).toBe(true)
    expect(measurePasses(fiftyFive, 549, 451)).toBe(false)
    expect(measurePasses(fiftyFive, 5_499_999, 4_500_001)).toBe(false)
    expect(measurePasses(fiftyFive, 5_500_000, 4_500_000)).toBe(true)
  })
  it('passes 2/3 at exactly 2/3 and fails just under', () => {
    expect(measurePasses(twoThirds, 2, 1)).toBe(true)
    expect(measurePasses(twoThirds, 200, 100)).toBe(true)
    expect(measurePasses(twoThirds, 199, 100)).toBe(false)
    expect(measurePasses(twoThirds, 1, 1)).toBe(false)
    // 666,666 of 1,000,000 is under 2/3; 666,667 is over.
    expect(measurePasses(twoThirds, 666_666, 333_334)).toBe(false)
    expect(measurePasses(twoThirds, 666_667, 333_333)).toBe(true)
  })
  it('fails with no votes at all, whatever the threshold', () => {
    for (const t of [majority, fiftyFive, twoThirds, unanimity]) expect(measurePasses(t, 0, 0)).toBe(false)
  })
  it('needs unanimity when the threshold is 1', () => {
    expect(measurePasses(unanimity, 5, 0)).toBe(true)
    expect(measurePasses(unanimity, 1, 0)).toBe(true)
    expect(measurePasses(unanimity, 999, 1)).toBe(false)
    expect(measurePasses(unanimity, 0, 3)).toBe(false)
  })
  it('never passes a measure with no yes votes', () => {
    for (const t of [majority, fiftyFive, twoThirds, unanimity, { numerator: 1, denominator: 1000 }])
      expect(measurePasses(t, 0, 7)).toBe(false)
  })
})

describe('resolveDefinition', () => {
  const regions: RegionPlace[] = [
    { id: 'n1', state: 'NV' },
    { id: 'n2', state: 'NV' },
    { id: 'o1', state: 'OR' },
    { id: 'w1', state: 'WA' },
  ]
  const resolve = (input: ElectionDefinitionInput, rs: RegionPlace[] = regions) => resolveDefinition(parse(input), rs)
  const resolved = (input: ElectionDefinitionInput, rs: RegionPlace[] = regions) => {
    const r = resolve(input, rs)
    if (!r.ok) throw new Error(`expected the definition to resolve: ${JSON.stringify(r.issues)}`)
    return r.resolved
  }
  const issues = (input: ElectionDefinitionInput, rs: RegionPlace[] = regions) => {
    const r = resolve(input, rs)
    if (r.ok) throw new Error('expected the definition not to resolve')
    return r.issues
  }

  const districts: DistrictInput[] = [
    whole,
    { id: 'nv', name: 'Nevada', level: 'state', states: ['NV'] },
    { id: 'pnw', name: 'Pacific Northwest', states: ['OR', 'WA'] },
    { id: 'n2-city', name: 'City of N2', level: 'city', regions: ['n2'] },
    { id: 'edge', name: 'Edge precincts', regions: ['w1', 'n1', 'w1'] },
  ]

  it('resolves districts by states, by regions and for the whole election', () => {
    const r = resolved(
      definition(
        [
          mayor({ id: 'president', district: 'all' }),
          mayor({ id: 'nv-gov', district: 'nv' }),
          mayor({ id: 'pnw-q', district: 'pnw' }),
          mayor({ id: 'n2-mayor', district: 'n2-city' }),
          measure({ id: 'edge-m', district: 'edge' }),
        ],
        districts,
      ),
    )
    expect(Object.fromEntries(r.regionsOfContest)).toEqual({
      president: ['n1', 'n2', 'o1', 'w1'],
      'nv-gov': ['n1', 'n2'],
      'pnw-q': ['o1', 'w1'],
      'n2-mayor': ['n2'],
      'edge-m': ['w1', 'n1'],
    })
    const styleOf = (region: string) => r.styles.get(r.styleOfRegion.get(region) ?? '')
    expect(styleOf('n1')).toEqual(['president', 'nv-gov', 'edge-m'])
    expect(styleOf('n2')).toEqual(['president', 'nv-gov', 'n2-mayor'])
    expect(styleOf('o1')).toEqual(['president', 'pnw-q'])
    expect(styleOf('w1')).toEqual(['president', 'pnw-q', 'edge-m'])
    expect(r.styles.size).toBe(4)
  })

  it('lists the contests with their rules in definition order', () => {
    const r = resolved(definition([measure({ threshold: '2/3' }), mayor({ votesAllowed: 2, writeIns: true })]), regions)
    expect(r.contests).toEqual([
      {
        id: 'prop-1',
        name: 'Proposition 1',
        type: 'measure',
        district: 'all',
        position: 0,
        votesAllowed: 1,
        numberElected: 1,
        writeIns: false,
        selections: [
          { id: 'yes', name: 'Yes', party: null, writeIn: false },
          { id: 'no', name: 'No', party: null, writeIn: false },
        ],
        threshold: { numerator: 2, denominator: 3 },
        rcv: null,
      },
      {
        id: 'mayor',
        name: 'Mayor',
        type: 'candidate',
        district: 'all',
        position: 1,
        votesAllowed: 2,
        numberElected: 2,
        writeIns: true,
        selections: [
          { id: 'ada', name: 'Ada Lovelace', party: null, writeIn: false },
          { id: 'alan', name: 'Alan Turing', party: null, writeIn: false },
        ],
        threshold: null,
        rcv: null,
      },
    ])
    expect(r.contests.map(countedSelectionIds)).toEqual([
      ['yes', 'no'],
      ['ada', 'alan', 'write-in'],
    ])
  })

  it('names the state a district gives that no region lies in', () => {
    const input = definition(
      [mayor(), measure({ district: 'far' })],
      [whole, { id: 'far', name: 'Far', states: ['NV', 'Atlantis'] }, { id: 'unused', name: 'U', regions: ['n1'] }],
    )
    expect(issues(input)).toEqual([{ path: ['districts', 1, 'states', 1], message: 'no region lies in state Atlantis' }])
  })

  it('names the region a district gives that the election does not have', () => {
    const input = definition(
      [mayor(), measure({ district: 'some' })],
      [whole, { id: 'some', name: 'Some', regions: ['n1', 'ghost', 'o1'] }],
    )
    expect(issues(input)).toEqual([{ path: ['districts', 1, 'regions', 1], message: 'no region ghost' }])
  })

  it('names a contest whose district covers no region', () => {
    const input = definition([mayor(), measure({ district: 'lost' })], [whole, { id: 'lost', name: 'Lost', regions: ['ghost'] }])
    expect(issues(input)).toEqual([
      { path: ['districts', 1, 'regions', 0], message: 'no region ghost' },
      { path: ['contests', 1, 'district'], message: 'district lost covers no region' },
    ])
    const byState = definition([mayor(), measure({ district: 'lost' })], [whole, { id: 'lost', name: 'Lost', states: ['Atlantis'] }])
    expect(issues(byState)).toContainEqual({ path: ['contests', 1, 'district'], message: 'district lost covers no region' })
    // A district with no regions at all: the whole election of an election without regions.
    expect(issues(definition([mayor()]), [])).toEqual([{ path: ['contests', 0, 'district'], message: 'district all covers no region' }])
  })

  it('names a region that lies in no contest’s district (its ballot would be empty)', () => {
    const input = definition([mayor({ district: 'nv' }), measure({ district: 'pnw' })], [whole, ...districts.slice(1, 3)])
    expect(resolve(input).ok).toBe(true)
    const onlyNv = definition([mayor({ district: 'nv' }), measure({ district: 'edge' })], districts)
    expect(issues(onlyNv)).toEqual([
      { path: ['regions', 2], message: "region o1 lies in no contest's district: its ballot would be empty" },
    ])
  })

  it('gives regions with the same contests one style and others distinct ones', () => {
    const r = resolved(definition([mayor({ district: 'all' }), measure({ district: 'nv' })], districts))
    const [n1, n2, o1, w1] = regions.map((x) => r.styleOfRegion.get(x.id))
    expect(n1).toBe(n2)
    expect(o1).toBe(w1)
    expect(n1).not.toBe(o1)
    expect(r.styles.size).toBe(2)
    expect(r.styles.get(n1 ?? '')).toEqual(['mayor', 'prop-1'])
    expect(r.styles.get(o1 ?? '')).toEqual(['mayor'])
    // Every region has a style, and every style is some region's.
    expect(new Set(r.styleOfRegion.values())).toEqual(new Set(r.styles.keys()))
  })

  it('orders the contests of a style as the definition orders them, whatever the order of the districts', () => {
    const r = resolved(
      definition(
        [
          measure({ id: 'z-last-id', district: 'nv' }),
          mayor({ id: 'a-first-id', district: 'n2-city' }),
          measure({ id: 'm', district: 'all' }),
        ],
        [...districts].reverse(),
      ),
    )
    expect(r.styles.get(r.styleOfRegion.get('n2') ?? '')).toEqual(['z-last-id', 'a-first-id', 'm'])
    expect(r.styles.get(r.styleOfRegion.get('n1') ?? '')).toEqual(['z-last-id', 'm'])
    expect(r.styles.get(r.styleOfRegion.get('o1') ?? '')).toEqual(['m'])
  })

  it('gives two regions whose contests are the same set the same style', () => {
    // n1 and w1 are both in "edge"; with every contest in edge or the whole election, they share a style.
    const r = resolved(definition([mayor({ district: 'edge' }), measure({ district: 'all' })], districts))
    expect(r.styleOfRegion.get('n1')).toBe(r.styleOfRegion.get('w1'))
    expect(r.styleOfRegion.get('n2')).toBe(r.styleOfRegion.get('o1'))
    expect(r.styleOfRegion.get('n1')).not.toBe(r.styleOfRegion.get('n2'))
  })
})

describe('thresholds given as numbers with more than six decimals', () => {
  // "at most six decimals": 2/3 typed as a number (0.6666666666666666) must not silently
  // become 666667/1000000, under which a measure at exactly 2/3 (2 yes, 1 no) fails.
  it('refuses them rather than rounding them', () => {
    for (const t of [2 / 3, 0.6666666, 0.9999999]) {
      const parsed = electionDefinitionSchema.safeParse(definition([measure({ threshold: t })]))
      expect(parsed.success, String(t)).toBe(false)
      expect(parsed.error?.issues.map((i) => i.path)).toContainEqual(['contests', 0, 'threshold'])
    }
  })
})

describe('ranked-choice contests', () => {
  const rules = {
    ranksAllowed: 3,
    overvoteRule: 'alwaysSkipToNextRank',
    maxSkippedRanksAllowed: 'unlimited',
    tiebreakMode: 'random',
    tiebreakSeed: '4 1 6',
  }
  const issues = (over: Record<string, unknown>) => {
    const r = electionDefinitionSchema.safeParse(definition([mayor({ rcv: rules, ...over })]))
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }

  it('resolves a candidate contest with rules as a ranked contest, defaults filled in', () => {
    const r = resolveDefinition(electionDefinitionSchema.parse(definition([mayor({ rcv: rules })])), [{ id: 'n1', state: 'NV' }])
    expect(r.ok && r.resolved.contests[0]?.rcv).toEqual({
      ...rules,
      numberElected: 1,
      duplicateRankingRule: 'skipDuplicate',
      batchElimination: false,
    })
  })

  it('refuses vote for 2, write-in lines, a single candidate and bad rules, naming the field', () => {
    expect(issues({ votesAllowed: 2 })).toEqual(['contests.0.votesAllowed: a ranked-choice contest is vote for 1 (one candidate a rank)'])
    expect(issues({ writeIns: true })).toEqual(['contests.0.writeIns: write-in lines in ranked-choice contests are not supported'])
    expect(issues({ candidates: [{ id: 'ada', name: 'Ada' }] })).toContain(
      'contests.0.candidates: a ranked-choice contest needs at least 2 candidates',
    )
    expect(issues({ rcv: { ...rules, ranksAllowed: 11 } })[0]).toMatch(/^contests\.0\.rcv\.ranksAllowed: /)
    expect(issues({ rcv: { ...rules, overvoteRule: 'guess' } })[0]).toMatch(/^contests\.0\.rcv\.overvoteRule: /)
    expect(issues({ rcv: { ...rules, numberElected: 2 } })[0]).toMatch(/^contests\.0\.rcv\.numberElected: only single-winner/)
    expect(issues({ rcv: { ...rules, tiebreakSeed: '' } })[0]).toMatch(/^contests\.0\.rcv\.tiebreakSeed: /)
    expect(issues({ rcv: { ...rules, extra: 1 } })[0]).toMatch(/^contests\.0\.rcv: /)
    // The rounds send inactive ballots to "exhausted": no candidate may be called so.
    expect(
      issues({
        candidates: [
          { id: 'exhausted', name: 'X' },
          { id: 'bo', name: 'Bo' },
        ],
      }),
    ).toEqual(['contests.0.candidates.0.id: exhausted names inactive ballots in the rounds'])
  })
})
