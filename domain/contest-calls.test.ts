import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { contestCallContradiction, decideContestCalls, decidedByCalls, type LineVotes } from './contest-calls.ts'
import { type ContestRules, measurePasses, WRITE_IN_SELECTION } from './contests.ts'

const council = (seats: number, names: string[], writeIns = false): ContestRules => ({
  id: 'council',
  name: 'City Council',
  type: 'candidate',
  district: 'city',
  position: 1,
  votesAllowed: seats,
  numberElected: seats,
  writeIns,
  selections: names.map((id) => ({ id, name: id, party: null, writeIn: false })),
  threshold: null,
})
const measure = (numerator: number, denominator: number): ContestRules => ({
  id: 'measure-a',
  name: 'Measure A',
  type: 'measure',
  district: 'county',
  position: 2,
  votesAllowed: 1,
  numberElected: 1,
  writeIns: false,
  selections: [
    { id: 'yes', name: 'Yes', party: null, writeIn: false },
    { id: 'no', name: 'No', party: null, writeIn: false },
  ],
  threshold: { numerator, denominator },
})
const votes = (o: Record<string, number>): LineVotes => new Map(Object.entries(o))
const bound = (outstanding: number) => ({ outstanding, rule: 'test' })
const elected = (rules: ContestRules, v: LineVotes, outstanding: number) =>
  decideContestCalls(rules, v, bound(outstanding), []).map((c) => c.selectionId)

describe('seat calls in a vote-for-N contest', () => {
  // Vote for 2: ann 100, bob 90, cat 60, dan 20, 25 ballots outstanding.
  // ann: the 2nd strongest other line is cat (60); 60 + 25 = 85 < 100 → elected.
  // bob: the 2nd strongest other is cat (60); 60 + 25 = 85 < 90 → elected.
  // cat: the 2nd strongest other is bob (90) → not.
  it('calls each seat on its own, when the N-th strongest rival cannot reach it', () => {
    const rules = council(2, ['ann', 'bob', 'cat', 'dan'])
    expect(elected(rules, votes({ ann: 100, bob: 90, cat: 60, dan: 20 }), 25)).toEqual(['ann', 'bob'])
    // 31 outstanding: 60 + 31 = 91 ≥ 90, so bob's seat is open; ann's (91 < 100) is not.
    expect(elected(rules, votes({ ann: 100, bob: 90, cat: 60, dan: 20 }), 31)).toEqual(['ann'])
    // 40 outstanding: 60 + 40 = 100 ties ann; a tie is not a seat.
    expect(elected(rules, votes({ ann: 100, bob: 90, cat: 60, dan: 20 }), 40)).toEqual([])
  })

  it('counts the write-in line as gaining up to votesAllowed votes from one ballot (N names written in)', () => {
    const rules = council(2, ['a', 'b', 'c'], true)
    // a 100, b 60, 40 outstanding. b's rivals reach a 140, write-in 0 + 2 × 40 = 80 (two names
    // on each ballot), c 40: two of them reach 60, so b is not called (40 ballots writing two
    // names in would put the write-in line at 80). a's rivals reach b 100, write-in 80, c 40:
    // the second strongest, 80, is below 100 → a is called.
    expect(elected(rules, votes({ a: 100, b: 60, c: 0 }), 40)).toEqual(['a'])
    // With the write-in line counted once per ballot, b would have been called (40 < 60): wrong.
    const vote1 = council(1, ['a', 'b'], true)
    // Vote for 1: the write-in line gains one a ballot; a 100 against write-in 0 with 99 outstanding → called.
    expect(elected(vote1, votes({ a: 100, b: 0 }), 99)).toEqual(['a'])
    const vote3 = council(3, ['a', 'b', 'c', 'd'], true)
    // Vote for 3, d 10, 5 outstanding: d's rivals reach a 55, write-in 15, b 5, c 5; the third
    // strongest, 5, is below 10 → d is called.
    expect(elected(vote3, votes({ a: 50, b: 0, c: 0, d: 10 }), 5)).toEqual(['a', 'd'])
  })

  it('never calls the write-in line, and counts it as a rival', () => {
    const rules = council(1, ['ann', 'bob'], true)
    // The write-in line leads by 50 with nothing outstanding: adjudication, not a call.
    expect(elected(rules, votes({ ann: 10, bob: 5, [WRITE_IN_SELECTION]: 60 }), 0)).toEqual([])
    // ann 100 against write-ins 80 with 30 outstanding: 80 + 30 ≥ 100, no call.
    expect(elected(rules, votes({ ann: 100, bob: 5, [WRITE_IN_SELECTION]: 80 }), 30)).toEqual([])
  })

  it('at the final count calls the top N, and not a tie for the last seat', () => {
    const rules = council(2, ['ann', 'bob', 'cat'])
    expect(elected(rules, votes({ ann: 5, bob: 4, cat: 3 }), 0)).toEqual(['ann', 'bob'])
    expect(elected(rules, votes({ ann: 5, bob: 4, cat: 4 }), 0)).toEqual(['ann'])
  })

  it('calls an uncontested seat with any vote, and nothing when unbounded', () => {
    const rules = council(2, ['ann', 'bob'])
    expect(elected(rules, votes({ ann: 1, bob: 0 }), 1_000_000)).toEqual(['ann'])
    expect(decideContestCalls(rules, votes({ ann: 100, bob: 0 }), null, [])).toEqual([])
  })

  it('does not decide a standing call again, and is decided when every seat is', () => {
    const rules = council(2, ['ann', 'bob', 'cat'])
    expect(
      decideContestCalls(rules, votes({ ann: 5, bob: 4, cat: 3 }), bound(0), [{ selectionId: 'ann' }]).map((c) => c.selectionId),
    ).toEqual(['bob'])
    const one = [{ status: 'standing' as const, outcome: 'elected' as const }]
    expect(decidedByCalls(rules, one)).toBe(false)
    expect(decidedByCalls(rules, [...one, ...one])).toBe(true)
    expect(decidedByCalls(rules, [...one, { status: 'retracted', outcome: 'elected' }])).toBe(false)
  })

  it('names a contradiction: N rivals at or above a candidate called elected', () => {
    const rules = council(2, ['ann', 'bob', 'cat'])
    expect(contestCallContradiction(rules, { selectionId: 'ann', outcome: 'elected' }, votes({ ann: 5, bob: 9, cat: 5 }))).toMatch(
      /bob has 9, cat has 5 against 5 for ann, with 2 seats/,
    )
    expect(contestCallContradiction(rules, { selectionId: 'ann', outcome: 'elected' }, votes({ ann: 5, bob: 9, cat: 4 }))).toBeNull()
  })
})

describe('measure calls against the threshold', () => {
  it('a 2/3 measure passes once every outstanding no cannot bring yes below 2/3', () => {
    const rules = measure(2, 3)
    // yes 700, no 300, 50 outstanding: 700 / (700 + 350) = 0.6667 ≥ 2/3 (700·3 = 2100 ≥ 1050·2 = 2100) → passes.
    expect(decideContestCalls(rules, votes({ yes: 700, no: 300 }), bound(50), [])).toMatchObject([{ outcome: 'passes', selectionId: null }])
    // 51 outstanding: 700·3 = 2100 < 1051·2 = 2102 → not called.
    expect(decideContestCalls(rules, votes({ yes: 700, no: 300 }), bound(51), [])).toEqual([])
  })

  it('a simple-majority measure fails when every outstanding yes cannot exceed half', () => {
    const rules = measure(1, 2)
    // yes 400 + 100 = 500 against no 500: not more than half → fails.
    expect(decideContestCalls(rules, votes({ yes: 400, no: 500 }), bound(100), [])).toMatchObject([{ outcome: 'fails' }])
    expect(decideContestCalls(rules, votes({ yes: 400, no: 500 }), bound(101), [])).toEqual([])
    expect(decideContestCalls(rules, votes({ yes: 0, no: 0 }), bound(0), [])).toEqual([])
  })

  it('names a contradiction when the measure stands on the other side', () => {
    expect(contestCallContradiction(measure(1, 2), { selectionId: null, outcome: 'passes' }, votes({ yes: 5, no: 5 }))).toMatch(
      /yes 5 against no 5 fails the threshold 1\/2/,
    )
  })
})

/**
 * Never wrong: random contests and ballots, counted in random chunks; after each chunk the
 * calls are decided with the ballots still to come as the bound (what the workflow's bound
 * promises: no more than that). No call made on the way is contradicted by the final count,
 * and at the final count every seat without a tie at its boundary is called.
 */
describe('calls are never wrong', () => {
  const contestArb = fc.oneof(
    fc.record({
      kind: fc.constant('candidate' as const),
      candidates: fc.integer({ min: 1, max: 6 }),
      seats: fc.integer({ min: 1, max: 3 }),
      writeIns: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('measure' as const), threshold: fc.constantFrom([1, 2], [2, 3], [11, 20], [1, 1]) }),
  )
  type Case =
    | { kind: 'candidate'; candidates: number; seats: number; writeIns: boolean }
    | { kind: 'measure'; threshold: readonly number[] }
  const rulesOf = (c: Case) =>
    c.kind === 'measure'
      ? measure(c.threshold[0] as number, c.threshold[1] as number)
      : council(
          c.seats,
          Array.from({ length: c.candidates }, (_, i) => `c${i}`),
          c.writeIns,
        )

  it('holds for 400 random elections', () => {
    fc.assert(
      fc.property(
        contestArb,
        // Each ballot: marks as indices into the lines (-1: a name written in), over-long lists are overvotes.
        fc.array(fc.array(fc.oneof(fc.nat({ max: 6 }), fc.constant(-1)), { maxLength: 4 }), { maxLength: 120 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        (c, ballots, chunks) => {
          const rules = rulesOf(c)
          const lines = [...rules.selections.map((s) => s.id), ...(rules.writeIns ? [WRITE_IN_SELECTION] : [])]
          const running = new Map<string, number>()
          const standing: Array<{ selectionId: string | null; outcome: 'elected' | 'passes' | 'fails' }> = []
          let i = 0
          let chunk = 0
          const decide = () => {
            const calls = decideContestCalls(rules, running, bound(ballots.length - i), standing)
            standing.push(...calls)
          }
          while (i < ballots.length) {
            const end = Math.min(ballots.length, i + (chunks[chunk++ % chunks.length] ?? 1))
            for (; i < end; i++) {
              // Declared selections at most once each; the write-in line once per name written in.
              const picked = (ballots[i] ?? []).map((m) =>
                m < 0 && rules.writeIns ? WRITE_IN_SELECTION : (lines[Math.abs(m) % lines.length] as string),
              )
              const marks = [...new Set(picked.filter((l) => l !== WRITE_IN_SELECTION)), ...picked.filter((l) => l === WRITE_IN_SELECTION)]
              if (marks.length > rules.votesAllowed) continue // an overvote: no line gains
              for (const m of marks) running.set(m, (running.get(m) ?? 0) + 1)
            }
            decide()
          }
          decide()
          for (const call of standing) expect(contestCallContradiction(rules, call, running)).toBeNull()
          // The final count decides every seat whose boundary is not tied.
          if (rules.type === 'candidate') {
            const sorted = rules.selections.map((s) => running.get(s.id) ?? 0).sort((a, b) => b - a)
            for (const s of rules.selections) {
              const mine = running.get(s.id) ?? 0
              const rivals = lines.filter((l) => l !== s.id && (running.get(l) ?? 0) >= mine).length
              if (mine > 0 && rivals < rules.numberElected) expect(standing.some((x) => x.selectionId === s.id)).toBe(true)
            }
            expect(sorted.length).toBe(rules.selections.length)
          } else {
            const yes = running.get('yes') ?? 0
            const no = running.get('no') ?? 0
            if (yes + no > 0)
              expect(standing).toEqual([
                expect.objectContaining({
                  outcome: measurePasses(rules.threshold ?? { numerator: 1, denominator: 2 }, yes, no) ? 'passes' : 'fails',
                }),
              ])
          }
        },
      ),
      { numRuns: 1000 },
    )
  })
})
