import type { Ranking } from '../domain/rcv/ballot.ts'
import { rcvRulesSchema } from '../domain/rcv/rules.ts'
import { uniform } from '../domain/simulation-random.ts'

/**
 * Rankings in the shape of New York City's 2021 Democratic mayoral primary (13 candidates,
 * 5 ranks): first choices in the proportions of its first round, later choices drawn by
 * popularity with a pull towards candidates of the same "lane", about one voter in eight
 * ranking a single candidate and half all five, a few overvotes, skipped and repeated ranks
 * and blank ballots. A pure function of the seed: the benchmarks (bench/rcv.ts,
 * bench/rcv-live.ts) tabulate the same ballots every run.
 */

/** Candidate, share of first choices in round 1 (%), lane. */
export const FIELD: [string, number, number][] = [
  ['adams', 30.7, 0],
  ['wiley', 21.4, 1],
  ['garcia', 19.6, 2],
  ['yang', 11.7, 2],
  ['stringer', 5.5, 1],
  ['mcguire', 4.7, 0],
  ['morales', 2.8, 1],
  ['donovan', 2.2, 2],
  ['chang', 0.6, 2],
  ['wright', 0.3, 0],
  ['prince', 0.3, 1],
  ['foldenauer', 0.2, 0],
  ['taylor', 0.2, 0],
]
export const CANDIDATES = FIELD.map(([id]) => id)
export const RANKS = 5
/** How many candidates a voter ranks: 1..5 (New York 2021: about 13 % ranked one, about half all five). */
const RANKS_USED = [0.13, 0.1, 0.12, 0.1, 0.55]

export const rules = rcvRulesSchema.parse({
  ranksAllowed: RANKS,
  numberElected: 1,
  overvoteRule: 'exhaustImmediately',
  maxSkippedRanksAllowed: 'unlimited',
  duplicateRankingRule: 'skipDuplicate',
  batchElimination: false,
  tiebreakMode: 'random',
  tiebreakSeed: 'bench',
})

export function generate(count: number, seed: number): Ranking[] {
  // One array per candidate for a single mark: a decoder would allocate its own, but a
  // million ballots of five fresh arrays each is memory the benchmark does not need to measure.
  const single = CANDIDATES.map((c) => [c])
  const blank: string[] = []
  const ballots: Ranking[] = new Array(count)
  const weight = FIELD.map(([, share]) => share)
  for (let k = 0; k < count; k++) {
    let salt = 0
    const u = () => uniform(seed, k, salt++)
    if (u() < 0.012) {
      ballots[k] = []
      continue
    }
    let used = 0
    for (let r = u(); used < RANKS - 1 && r >= (RANKS_USED[used] as number); used++) r -= RANKS_USED[used] as number
    used++
    const chosen: number[] = []
    for (let i = 0; i < used; i++) {
      const lane = chosen.length > 0 ? (FIELD[chosen[0] as number] as [string, number, number])[2] : -1
      let total = 0
      const w = weight.map((share, c) => {
        const x = chosen.includes(c) ? 0 : (FIELD[c] as [string, number, number])[2] === lane ? share * 3 : share
        total += x
        return x
      })
      let r = u() * total
      let c = 0
      while (c < w.length - 1 && r >= (w[c] as number)) r -= w[c++] as number
      chosen.push(c)
    }
    const ranking: (readonly string[])[] = chosen.map((c) => single[c] as string[])
    const fault = u()
    if (fault < 0.004)
      ranking[Math.floor(u() * ranking.length)] = [
        CANDIDATES[chosen[0] as number] as string,
        CANDIDATES[(chosen[0] as number) === 0 ? 1 : 0] as string,
      ]
    else if (fault < 0.014 && ranking.length < RANKS) ranking.splice(1 + Math.floor(u() * ranking.length), 0, blank)
    else if (fault < 0.022 && ranking.length < RANKS) ranking.push(ranking[0] as string[])
    ballots[k] = ranking
  }
  return ballots
}
