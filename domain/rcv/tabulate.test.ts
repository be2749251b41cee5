import { describe, expect, it } from 'vitest'
import { canonicalRanking, type Ranking, rankingKey, validateRanking } from './ballot.ts'
import { type RcvRulesInput, rcvRulesSchema } from './rules.ts'
import { toRctabSummary } from './summary.ts'
import { aggregateRankings, type InactiveCause, type RcvRound, seededDraw, tabulate, tabulatePatterns } from './tabulate.ts'

/**
 * Hand-computed elections, one per rule variant. Each writes its rounds out in full, with
 * the arithmetic beside it: tallies, threshold = floor(continuing / 2) + 1, who goes, where
 * their ballots go, and the inactive ballots by cause (cumulative) — undervotes never
 * among them.
 */

const rules = (over: Partial<RcvRulesInput> = {}) =>
  rcvRulesSchema.parse({
    ranksAllowed: 3,
    numberElected: 1,
    overvoteRule: 'alwaysSkipToNextRank',
    maxSkippedRanksAllowed: 'unlimited',
    duplicateRankingRule: 'skipDuplicate',
    batchElimination: false,
    tiebreakMode: 'random',
    tiebreakSeed: 'dice-6-3-1',
    ...over,
  })

/** n ballots ranked alike. Ids as strings; `[[...]]` for an overvote, `[]` for a skipped rank. */
const times = (n: number, ...ranks: (string | string[])[]): Ranking[] =>
  Array.from({ length: n }, () => ranks.map((r) => (typeof r === 'string' ? [r] : r)))

const NONE: Record<InactiveCause, number> = { overvotes: 0, skippedRankings: 0, exhaustedChoices: 0, repeatedRankings: 0 }

/** A round written out; what is not given is the empty default. */
function round(
  r: Partial<Omit<RcvRound, 'inactive'>> & Pick<RcvRound, 'round' | 'tally' | 'threshold'> & { inactive?: Partial<RcvRound['inactive']> },
): RcvRound {
  const continuingVotes = Object.values(r.tally).reduce((a, b) => a + b, 0)
  return { continuingVotes, eliminated: [], batchElimination: false, transfers: {}, ...r, inactive: { ...NONE, ...r.inactive } }
}

describe('instant runoff, hand-computed', () => {
  it('a first-round majority ends the count in round 1', () => {
    const ballots = [...times(6, 'A', 'B'), ...times(3, 'B'), ...times(2, 'C', 'A')]
    const result = tabulate(rules(), ['A', 'B', 'C'], ballots)
    // 6 + 3 + 2 = 11 continuing; threshold floor(11/2) + 1 = 6; A has 6.
    expect(result.rounds).toEqual([round({ round: 1, tally: { A: 6, B: 3, C: 2 }, threshold: 6, elected: 'A' })])
    expect(result).toMatchObject({ winner: 'A', ballots: 11, undervotes: 0 })
  })

  it('transfers, exhausted choices, and undervotes kept apart', () => {
    const ballots = [...times(7, 'A'), ...times(5, 'B', 'A'), ...times(4, 'C'), ...times(2, 'D', 'C'), ...times(1, 'D'), ...times(2)]
    const result = tabulate(rules(), ['A', 'B', 'C', 'D'], ballots)
    expect(result.rounds).toEqual([
      // 7 + 5 + 4 + 3 = 19 (the 2 blank ballots are undervotes, in no round); threshold 10.
      // D (3) is lowest: D>C ×2 go to C, D alone ×1 runs out of choices.
      round({
        round: 1,
        tally: { A: 7, B: 5, C: 4, D: 3 },
        threshold: 10,
        eliminated: ['D'],
        transfers: { D: { A: 0, B: 0, C: 2, exhausted: 1 } },
      }),
      // 7 + 5 + 6 = 18; threshold 10. B (5) is lowest: B>A ×5 go to A.
      round({
        round: 2,
        tally: { A: 7, B: 5, C: 6 },
        threshold: 10,
        inactive: { exhaustedChoices: 1 },
        eliminated: ['B'],
        transfers: { B: { A: 5, C: 0, exhausted: 0 } },
      }),
      // 12 + 6 = 18; threshold 10; A has 12.
      round({ round: 3, tally: { A: 12, C: 6 }, threshold: 10, inactive: { exhaustedChoices: 1 }, elected: 'A' }),
    ])
    expect(result).toMatchObject({ winner: 'A', ballots: 21, undervotes: 2 })
  })

  describe('overvotes', () => {
    const ballots = [
      ...times(8, 'A'),
      ...times(5, 'B'),
      ...times(1, ['A', 'B'], 'C'), // overvote at rank 1, then C
      ...times(2, 'C', ['A', 'B'], 'B'), // C, an overvote, then B
      ...times(1, 'C', ['A', 'B']), // C, then an overvote as the last ranking
    ]

    it('exhaustImmediately: the ballot is inactive when the count reaches the overvote', () => {
      const result = tabulate(rules({ overvoteRule: 'exhaustImmediately' }), ['A', 'B', 'C'], ballots)
      expect(result.rounds).toEqual([
        // A>B overvote at rank 1 ×1: inactive at once. C = 2 + 1 = 3. 8 + 5 + 3 = 16; threshold 9.
        // C goes: both C ballots with an overvote next are inactive (overvotes) — 3.
        round({
          round: 1,
          tally: { A: 8, B: 5, C: 3 },
          threshold: 9,
          inactive: { overvotes: 1 },
          eliminated: ['C'],
          transfers: { C: { A: 0, B: 0, exhausted: 3 } },
        }),
        // 8 + 5 = 13; threshold 7; A has 8.
        round({ round: 2, tally: { A: 8, B: 5 }, threshold: 7, inactive: { overvotes: 4 }, elected: 'A' }),
      ])
    })

    it('alwaysSkipToNextRank: the overvoted rank is passed over; an overvote as the last ranking runs out of choices', () => {
      const result = tabulate(rules({ overvoteRule: 'alwaysSkipToNextRank' }), ['A', 'B', 'C'], ballots)
      expect(result.rounds).toEqual([
        // (A B)>C counts for C: C = 1 + 2 + 1 = 4. 8 + 5 + 4 = 17; threshold 9.
        // C goes: (A B)>C has nothing after → exhausted; C>(A B)>B ×2 → B; C>(A B) ends on
        // the overvote → exhausted choices (RCTab's rule), not an overvote.
        round({
          round: 1,
          tally: { A: 8, B: 5, C: 4 },
          threshold: 9,
          eliminated: ['C'],
          transfers: { C: { A: 0, B: 2, exhausted: 2 } },
        }),
        // 8 + 7 = 15; threshold 8; A has 8.
        round({ round: 2, tally: { A: 8, B: 7 }, threshold: 8, inactive: { exhaustedChoices: 2 }, elected: 'A' }),
      ])
    })
  })

  describe('skipped ranks', () => {
    const ballots = [
      ...times(8, 'A'),
      ...times(9, 'B'),
      ...times(2, 'C', [], 'A'), // one rank skipped between C and A
      ...times(2, [], 'C'), // one rank skipped before C
      ...times(2, 'C', [], [], 'B'), // two skipped between C and B
      ...times(1, [], [], 'C'), // two skipped before C
    ]
    const count = (maxSkippedRanksAllowed: number | 'unlimited') =>
      tabulate(rules({ ranksAllowed: 4, maxSkippedRanksAllowed }), ['A', 'B', 'C'], ballots)

    it('0 allowed: any gap before a ranking makes the ballot inactive when the count reaches it', () => {
      expect(count(0).rounds).toEqual([
        // C = C>_>A ×2 + C>_>_>B ×2 = 4; _>C ×2 and _>_>C ×1 inactive at once (3).
        // 8 + 9 + 4 = 21; threshold 11. C goes: its 4 ballots reach a gap → skipped rankings.
        round({
          round: 1,
          tally: { A: 8, B: 9, C: 4 },
          threshold: 11,
          inactive: { skippedRankings: 3 },
          eliminated: ['C'],
          transfers: { C: { A: 0, B: 0, exhausted: 4 } },
        }),
        // 8 + 9 = 17; threshold 9; B has 9.
        round({ round: 2, tally: { A: 8, B: 9 }, threshold: 9, inactive: { skippedRankings: 7 }, elected: 'B' }),
      ])
    })

    it('1 allowed: one blank rank is passed over, two are not', () => {
      expect(count(1).rounds).toEqual([
        // C = 2 + 2 + 2 = 6; _>_>C ×1 inactive. 8 + 9 + 6 = 23; threshold 12.
        // C goes: C>_>A ×2 → A; _>C ×2 run out; C>_>_>B ×2 reach a two-rank gap → skipped.
        round({
          round: 1,
          tally: { A: 8, B: 9, C: 6 },
          threshold: 12,
          inactive: { skippedRankings: 1 },
          eliminated: ['C'],
          transfers: { C: { A: 2, B: 0, exhausted: 4 } },
        }),
        // 10 + 9 = 19; threshold 10; A has 10.
        round({
          round: 2,
          tally: { A: 10, B: 9 },
          threshold: 10,
          inactive: { skippedRankings: 3, exhaustedChoices: 2 },
          elected: 'A',
        }),
      ])
    })

    it('unlimited: blanks never make a ballot inactive', () => {
      expect(count('unlimited').rounds).toEqual([
        // C = 2 + 2 + 2 + 1 = 7. 8 + 9 + 7 = 24; threshold 13.
        // C goes: C>_>A ×2 → A; C>_>_>B ×2 → B; _>C ×2 and _>_>C ×1 run out (3).
        round({
          round: 1,
          tally: { A: 8, B: 9, C: 7 },
          threshold: 13,
          eliminated: ['C'],
          transfers: { C: { A: 2, B: 2, exhausted: 3 } },
        }),
        // 10 + 11 = 21; threshold 11; B has 11.
        round({ round: 2, tally: { A: 10, B: 11 }, threshold: 11, inactive: { exhaustedChoices: 3 }, elected: 'B' }),
      ])
    })
  })

  describe('repeated rankings', () => {
    const ballots = [...times(6, 'A'), ...times(5, 'B'), ...times(2, 'C', 'C', 'A'), ...times(1, 'C', 'C')]

    it('skipDuplicate: the repeat is passed over like any eliminated candidate', () => {
      const result = tabulate(rules({ duplicateRankingRule: 'skipDuplicate' }), ['A', 'B', 'C'], ballots)
      expect(result.rounds).toEqual([
        // 6 + 5 + 3 = 14; threshold 8. C goes: C>C>A ×2 → A; C>C ×1 runs out.
        round({ round: 1, tally: { A: 6, B: 5, C: 3 }, threshold: 8, eliminated: ['C'], transfers: { C: { A: 2, B: 0, exhausted: 1 } } }),
        // 8 + 5 = 13; threshold 7; A has 8.
        round({ round: 2, tally: { A: 8, B: 5 }, threshold: 7, inactive: { exhaustedChoices: 1 }, elected: 'A' }),
      ])
    })

    it('exhaustOnDuplicate: reaching the repeat makes the ballot inactive (repeated rankings)', () => {
      const result = tabulate(rules({ duplicateRankingRule: 'exhaustOnDuplicate' }), ['A', 'B', 'C'], ballots)
      expect(result.rounds).toEqual([
        // Round 1 reads C first on all three: no repeat reached yet. C goes: all 3 reach C again.
        round({ round: 1, tally: { A: 6, B: 5, C: 3 }, threshold: 8, eliminated: ['C'], transfers: { C: { A: 0, B: 0, exhausted: 3 } } }),
        // 6 + 5 = 11; threshold 6; A has 6.
        round({ round: 2, tally: { A: 6, B: 5 }, threshold: 6, inactive: { repeatedRankings: 3 }, elected: 'A' }),
      ])
    })
  })

  describe('batch elimination', () => {
    const ballots = [...times(10, 'A'), ...times(8, 'B'), ...times(3, 'C', 'B'), ...times(2, 'D', 'A'), ...times(1, 'E', 'C')]
    const CANDIDATES = ['A', 'B', 'C', 'D', 'E']

    it('on: every candidate who cannot catch the next one up goes at once', () => {
      const result = tabulate(rules({ batchElimination: true }), CANDIDATES, ballots)
      expect(result.rounds).toEqual([
        // 10 + 8 + 3 + 2 + 1 = 24; threshold 13. Upwards: E 1 < D 2 → {E} could go;
        // E + D = 3 is not < C 3; E + D + C = 6 < B 8 → {C, D, E} go; 14 is not < 10.
        // C>B ×3 → B; D>A ×2 → A; E>C ×1: C goes too → runs out.
        round({
          round: 1,
          tally: { A: 10, B: 8, C: 3, D: 2, E: 1 },
          threshold: 13,
          eliminated: ['C', 'D', 'E'],
          batchElimination: true,
          transfers: { C: { A: 0, B: 3, exhausted: 0 }, D: { A: 2, B: 0, exhausted: 0 }, E: { A: 0, B: 0, exhausted: 1 } },
        }),
        // 12 + 11 = 23; threshold 12; A has 12.
        round({ round: 2, tally: { A: 12, B: 11 }, threshold: 12, inactive: { exhaustedChoices: 1 }, elected: 'A' }),
      ])
    })

    it('off: one at a time, same winner, more rounds', () => {
      const result = tabulate(rules({ batchElimination: false }), CANDIDATES, ballots)
      expect(result.rounds).toEqual([
        // 24; threshold 13. E (1) goes: E>C → C.
        round({
          round: 1,
          tally: { A: 10, B: 8, C: 3, D: 2, E: 1 },
          threshold: 13,
          eliminated: ['E'],
          transfers: { E: { A: 0, B: 0, C: 1, D: 0, exhausted: 0 } },
        }),
        // 10 + 8 + 4 + 2 = 24; threshold 13. D (2) goes: D>A ×2 → A.
        round({
          round: 2,
          tally: { A: 10, B: 8, C: 4, D: 2 },
          threshold: 13,
          eliminated: ['D'],
          transfers: { D: { A: 2, B: 0, C: 0, exhausted: 0 } },
        }),
        // 12 + 8 + 4 = 24; threshold 13. C (4) goes: C>B ×3 → B; E>C ×1 runs out.
        round({
          round: 3,
          tally: { A: 12, B: 8, C: 4 },
          threshold: 13,
          eliminated: ['C'],
          transfers: { C: { A: 0, B: 3, exhausted: 1 } },
        }),
        // 12 + 11 = 23; threshold 12; A has 12.
        round({ round: 4, tally: { A: 12, B: 11 }, threshold: 12, inactive: { exhaustedChoices: 1 }, elected: 'A' }),
      ])
      expect(result.winner).toBe('A')
    })
  })

  describe('ties', () => {
    // Round 2 ties B and C at 4; in round 1, B had 4 and C 3.
    const ballots = [...times(6, 'A'), ...times(4, 'B'), ...times(3, 'C'), ...times(1, 'D', 'C'), ...times(1, 'D', 'A')]
    const CANDIDATES = ['A', 'B', 'C', 'D']
    const round1 = round({
      round: 1,
      // 6 + 4 + 3 + 2 = 15; threshold 8. D (2) goes: D>C → C, D>A → A.
      tally: { A: 6, B: 4, C: 3, D: 2 },
      threshold: 8,
      eliminated: ['D'],
      transfers: { D: { A: 1, B: 0, C: 1, exhausted: 0 } },
    })

    it('previousRoundCountsThenRandom: the one with fewer votes in the round before goes', () => {
      const result = tabulate(rules({ tiebreakMode: 'previousRoundCountsThenRandom' }), CANDIDATES, ballots)
      expect(result.rounds).toEqual([
        round1,
        // 7 + 4 + 4 = 15; threshold 8. B and C tie at 4; round 1: B 4, C 3 → C goes.
        // C's ballots: C ×3 and D>C ×1 run out.
        round({
          round: 2,
          tally: { A: 7, B: 4, C: 4 },
          threshold: 8,
          eliminated: ['C'],
          transfers: { C: { A: 0, B: 0, exhausted: 4 } },
          tiebreak: { purpose: 'elimination', tied: ['B', 'C'], votes: 4, selected: 'C', method: 'previousRoundCounts', decidingRound: 1 },
        }),
        // 7 + 4 = 11; threshold 6; A has 7.
        round({ round: 3, tally: { A: 7, B: 4 }, threshold: 6, inactive: { exhaustedChoices: 4 }, elected: 'A' }),
      ])
    })

    it('random: the seeded draw decides, whatever the rounds before', () => {
      // printf '%s' 'dice-6-3-1:2:B' | sha256sum → 64ef9534…; 'dice-6-3-1:2:C' → 6d1a7009…: B first, B goes.
      const draw = [
        { candidate: 'B', sha256: '64ef9534d00d3ba0246ba79e011d982a33cb47f48e35eb81ab80952a882988ee' },
        { candidate: 'C', sha256: '6d1a700991fbdb047ef3c2deedbd0d25d586818c4f263236d959b4a6a4845373' },
      ]
      expect(seededDraw('dice-6-3-1', 2, ['C', 'B'])).toEqual(draw)
      const result = tabulate(rules({ tiebreakMode: 'random' }), CANDIDATES, ballots)
      expect(result.rounds).toEqual([
        round1,
        round({
          round: 2,
          tally: { A: 7, B: 4, C: 4 },
          threshold: 8,
          eliminated: ['B'],
          transfers: { B: { A: 0, C: 0, exhausted: 4 } },
          tiebreak: { purpose: 'elimination', tied: ['B', 'C'], votes: 4, selected: 'B', method: 'seededDraw', draw },
        }),
        // 7 + 4 = 11; threshold 6; A has 7.
        round({ round: 3, tally: { A: 7, C: 4 }, threshold: 6, inactive: { exhaustedChoices: 4 }, elected: 'A' }),
      ])
    })

    it('the last two tied: the tie-break elects; with no round before, previous-round mode falls to the draw', () => {
      // 'dice-6-3-1:1:A' → 202e8ee7…, 'dice-6-3-1:1:B' → 951e9533…: A is drawn, and elected.
      const draw = [
        { candidate: 'A', sha256: '202e8ee7b88a7414881a550be6f141b144da70d9e4b13084d934e08cad80812c' },
        { candidate: 'B', sha256: '951e953346b7db02d2709b2feff0b3fc2bec3822ba4cc9eba2f130c60f9fe92b' },
      ]
      for (const tiebreakMode of ['random', 'previousRoundCountsThenRandom'] as const) {
        const result = tabulate(rules({ tiebreakMode }), ['A', 'B'], [...times(3, 'A'), ...times(3, 'B')])
        // 3 + 3 = 6; threshold 4: neither has it, and neither can be eliminated to leave a majority.
        expect(result.rounds).toEqual([
          round({
            round: 1,
            tally: { A: 3, B: 3 },
            threshold: 4,
            elected: 'A',
            tiebreak: { purpose: 'election', tied: ['A', 'B'], votes: 3, selected: 'A', method: 'seededDraw', draw },
          }),
        ])
      }
    })

    it('the last two tied after a transfer: previous-round mode elects the one ahead the round before', () => {
      const ballots = [...times(3, 'A'), ...times(2, 'B'), ...times(1, 'C', 'B')]
      const result = tabulate(rules({ tiebreakMode: 'previousRoundCountsThenRandom' }), ['A', 'B', 'C'], ballots)
      expect(result.rounds).toEqual([
        // 3 + 2 + 1 = 6; threshold 4. C goes → B.
        round({ round: 1, tally: { A: 3, B: 2, C: 1 }, threshold: 4, eliminated: ['C'], transfers: { C: { A: 0, B: 1, exhausted: 0 } } }),
        // 3 + 3 = 6; threshold 4; tied. Round 1: A 3, B 2 → A, the most, is elected.
        round({
          round: 2,
          tally: { A: 3, B: 3 },
          threshold: 4,
          elected: 'A',
          tiebreak: { purpose: 'election', tied: ['A', 'B'], votes: 3, selected: 'A', method: 'previousRoundCounts', decidingRound: 1 },
        }),
      ])
    })
  })

  it('a contest of blank ballots only still names a winner, by the draw', () => {
    const result = tabulate(rules(), ['A', 'B'], times(4))
    expect(result).toMatchObject({ ballots: 4, undervotes: 4, winner: 'A' })
    expect(result.rounds[0]).toMatchObject({ tally: { A: 0, B: 0 }, continuingVotes: 0, threshold: 1, inactive: NONE })
  })
})

describe('rankings grouped', () => {
  it('identical rankings count once with their number; overvotes are sets; trailing blanks are dropped', () => {
    const ballots: Ranking[] = [[['B', 'A'], ['C']], [['A', 'B'], ['C'], []], [['C']], [], [[], []]]
    expect(aggregateRankings(['A', 'B', 'C'], ballots)).toEqual([
      { ranking: [['A', 'B'], ['C']], count: 2 },
      { ranking: [['C']], count: 1 },
      { ranking: [], count: 2 },
    ])
    expect(canonicalRanking([['B', 'A'], [], ['C'], []])).toEqual([['A', 'B'], [], ['C']])
    expect(rankingKey([['B', 'A'], ['C'], []])).toBe(rankingKey([['A', 'B'], ['C']]))
  })

  it('tabulating patterns equals tabulating the ballots', () => {
    const ballots = [...times(10, 'A'), ...times(8, 'B'), ...times(3, 'C', 'B'), ...times(2, 'D', 'A'), ...times(1, 'E', 'C')]
    const CANDIDATES = ['A', 'B', 'C', 'D', 'E']
    const r = rules({ batchElimination: true })
    expect(tabulatePatterns(r, CANDIDATES, aggregateRankings(CANDIDATES, ballots))).toEqual(tabulate(r, CANDIDATES, ballots))
  })

  it('refuses what validation refuses, rather than counting it', () => {
    expect(() => tabulate(rules(), ['A'], [[['Z']]])).toThrow(/Z, who is not a candidate/)
    expect(() => tabulate(rules({ ranksAllowed: 1 }), ['A', 'B'], [[['A'], ['B']]])).toThrow(/rank 2; the contest allows 1/)
    expect(() => tabulate(rules(), ['A', 'A'], [])).toThrow(/listed twice/)
    expect(() => tabulate(rules(), ['exhausted'], [])).toThrow(/reserved/)
  })
})

describe('rankings validated against the contest', () => {
  const contest = { ranksAllowed: 3, candidates: ['A', 'B', 'C'] }
  it('accepts blanks, overvotes and repeats: they are the tabulation to judge', () => {
    for (const ranking of [[], [[], [], []], [['A', 'B']], [['A'], [], ['A']]] as Ranking[])
      expect(validateRanking(contest, ranking)).toEqual({ ok: true })
  })
  it('refuses ranks past the limit, unknown candidates and a candidate twice at one rank, naming each', () => {
    expect(validateRanking(contest, [['A'], ['B'], ['C'], []])).toMatchObject({ ok: false, reason: 'rank_beyond_limit' })
    expect(validateRanking(contest, [['A'], ['Z']])).toEqual({
      ok: false,
      reason: 'unknown_selection',
      message: 'rank 2: no candidate Z in this contest',
    })
    expect(validateRanking(contest, [['A', 'A']])).toMatchObject({ ok: false, reason: 'malformed_mark' })
  })
})

describe('rules', () => {
  it('refuses multi-winner contests with a message that says so', () => {
    const parsed = rcvRulesSchema.safeParse({ ...rules(), numberElected: 3 })
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]?.message).toMatch(/multi-winner STV is not/)
  })
  it('defaults as RCTab does: no batch elimination, repeats skipped', () => {
    const { batchElimination, duplicateRankingRule, ...rest } = rules()
    expect(rcvRulesSchema.parse(rest)).toMatchObject({ batchElimination: false, duplicateRankingRule: 'skipDuplicate' })
  })
  it('refuses a rule it does not know and a tie-break without its seed', () => {
    expect(rcvRulesSchema.safeParse({ ...rules(), overvoteRule: 'exhaustIfMultipleContinuing' }).success).toBe(false)
    const { tiebreakSeed, ...noSeed } = rules()
    expect(rcvRulesSchema.safeParse(noSeed).success).toBe(false)
  })
})

describe("RCTab's summary JSON", () => {
  it('has its shape: counts as strings, transfers without zeros, inactive by cause, undervotes apart', () => {
    const ballots = [...times(10, 'A'), ...times(8, 'B'), ...times(3, 'C', 'B'), ...times(2, 'D', 'A'), ...times(1, 'E', 'C'), ...times(2)]
    const result = tabulate(rules({ batchElimination: true }), ['A', 'B', 'C', 'D', 'E'], ballots)
    const info = {
      contest: 'Mayor',
      date: '2021-06-22',
      jurisdiction: 'Somewhere',
      office: 'Mayor',
      generatedBy: 'VoteStream (unofficial)',
    }
    const json = toRctabSummary(result, info, (id) => `Candidate ${id}`)
    expect(json).toEqual({
      config: { contest: 'Mayor', date: '2021-06-22', generatedBy: 'VoteStream (unofficial)', jurisdiction: 'Somewhere', office: 'Mayor' },
      jsonFormatVersion: '1',
      results: [
        {
          inactiveBallots: { exhaustedChoices: '0', overvotes: '0', repeatedRankings: '0', skippedRankings: '0' },
          round: 1,
          tally: { 'Candidate A': '10', 'Candidate B': '8', 'Candidate C': '3', 'Candidate D': '2', 'Candidate E': '1' },
          tallyResults: [
            { eliminated: 'Candidate C', transfers: { 'Candidate B': '3' } },
            { eliminated: 'Candidate D', transfers: { 'Candidate A': '2' } },
            { eliminated: 'Candidate E', transfers: { exhausted: '1' } },
          ],
          threshold: '13',
        },
        {
          inactiveBallots: { exhaustedChoices: '1', overvotes: '0', repeatedRankings: '0', skippedRankings: '0' },
          round: 2,
          tally: { 'Candidate A': '12', 'Candidate B': '11' },
          tallyResults: [{ elected: 'Candidate A', transfers: {} }],
          threshold: '12',
        },
      ],
      summary: { finalThreshold: '12', numCandidates: 5, numWinners: 1, totalNumBallots: '26', undervotes: 2 },
    })
    // Keys in code-point order, as RCTab writes them.
    expect(Object.keys(json)).toEqual(['config', 'jsonFormatVersion', 'results', 'summary'])
    expect(Object.keys(json.results[0] ?? {})).toEqual(['inactiveBallots', 'round', 'tally', 'tallyResults', 'threshold'])
  })
})
