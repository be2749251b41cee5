import { describe, expect, it } from 'vitest'
import type { Channel, Mark } from '../ballot.ts'
import { type ContestRules, electionDefinitionSchema, resolveDefinition } from '../contests.ts'
import { generateDefinition, markBallot, regionsFromGeography } from '../simulation-contests.ts'
import { geography } from '../simulation-geography.ts'
import { pick, uniform } from '../simulation-random.ts'
import { indexDefinition, tabulateBallot } from '../tabulation.ts'
import type { Ranking } from './ballot.ts'
import { contestRounds } from './contest-rounds.ts'
import { CAUSES, plainTabulate } from './plain-tabulate.ts'
import { type RcvRules, rcvRulesSchema } from './rules.ts'
import type { RcvResult } from './tabulate.ts'

/**
 * Simulated elections with ranked contests, counted the way production counts them and the
 * plain way, and required to agree to the last transfer. Production: the generated
 * definition resolved and indexed, each generated ballot through tabulateBallot (which must
 * accept it), the rankings it returns for the ballot box kept per distinct JSON text as the
 * database keeps them, and contestRounds over those rows. Plain: plainTabulate over the
 * rankings exactly as the generator marked them (a plain id is a rank with one mark), ballot
 * by ballot, under the rules as the generator wrote them, with none of the resolving, the
 * canonical form, the grouping or the storage in between — so a rank lost, reordered or
 * merged on the way to the box, or a rule lost on the way to the contest, shows up as a
 * difference.
 *
 * The elections are small (a few precincts, 4 to 600 ballots), so that ties, near ties and
 * contests with next to no ballots are common, and the rules differ from contest to contest
 * as the generator draws them.
 */

const ELECTIONS = 200
const PRECINCTS = [1, 2, 3, 4, 6, 9, 14]
const CHANNELS: Channel[] = ['early', 'election_day', 'mail']
/** Salts of the test's own draws (the generator's are below 400). */
const SIZE = 901
const WHERE = 902

/** The rankings of one ranked contest: as stored (per canonical JSON text) and as the voters marked them. */
interface ContestBallots {
  rules: ContestRules
  /** The rules as the generator wrote them into the definition: the plain count's, not the resolved contest's. */
  written: RcvRules
  rows: Map<string, number>
  marked: Ranking[]
}

/** A ranking as the generator marked it, in the plain count's form: every rank a list of ids. */
function asRanking(made: readonly Mark[]): Ranking {
  return made.map((m) => {
    if (typeof m === 'string') return [m]
    if (Array.isArray(m)) return m
    throw new Error(`a ranked contest marked with a write-in: ${JSON.stringify(m)}`)
  })
}

/** Election `seed`: its ranked contests and their ballots, every ballot through the production tabulation. */
function simulate(seed: number): Map<string, ContestBallots> {
  const regions = regionsFromGeography(geography(seed, PRECINCTS[seed % PRECINCTS.length] as number))
  const definition = generateDefinition(seed, regions)
  const resolved = resolveDefinition(electionDefinitionSchema.parse(definition), regions)
  if (!resolved.ok) throw new Error(`election ${seed} does not resolve: ${JSON.stringify(resolved.issues)}`)
  const index = indexDefinition(resolved.resolved)
  const contests = new Map<string, ContestBallots>()
  for (const c of definition.contests) {
    const rules = index.contests.get(c.id)
    if (c.type === 'candidate' && c.rcv && rules)
      contests.set(c.id, { rules, written: rcvRulesSchema.parse(c.rcv), rows: new Map(), marked: [] })
  }

  const ballots = Math.round(4 * 150 ** uniform(seed, 0, SIZE))
  for (let k = 0; k < ballots; k++) {
    const regionId = regions[pick(seed, k, WHERE, regions.length)]?.id ?? ''
    const marks = markBallot(seed, k, index, regionId, CHANNELS[k % 3] as Channel)
    const counted = tabulateBallot(index, regionId, marks)
    if (!counted.ok) throw new Error(`election ${seed}, ballot ${k} rejected: ${counted.reason} ${counted.detail}`)
    for (const { contestId } of counted.contests) {
      const contest = contests.get(contestId)
      if (!contest) continue
      const stored = JSON.stringify(counted.marks[contestId] ?? [])
      contest.rows.set(stored, (contest.rows.get(stored) ?? 0) + 1)
      contest.marked.push(asRanking(marks[contestId] ?? []))
    }
  }
  return contests
}

/** What the run exercised: elections with at least one contest showing each. */
const figures = {
  elections: 0,
  contests: 0,
  ballots: 0,
  tiebreaks: 0,
  /** A tie between candidates holding votes, not merely among those nobody ranked. */
  tiebreaksWithVotes: 0,
  moreThanTwoRounds: 0,
  batchEliminations: 0,
  undervotes: 0,
  inactive: Object.fromEntries(CAUSES.map((c) => [c, 0])) as Record<(typeof CAUSES)[number], number>,
}

function addFigures(results: RcvResult[]) {
  const any = (f: (r: RcvResult) => boolean) => (results.some(f) ? 1 : 0)
  figures.elections++
  figures.contests += results.length
  figures.ballots += results.reduce((n, r) => n + r.ballots, 0)
  figures.tiebreaks += any((r) => r.rounds.some((round) => round.tiebreak))
  figures.tiebreaksWithVotes += any((r) => r.rounds.some((round) => (round.tiebreak?.votes ?? 0) > 0))
  figures.moreThanTwoRounds += any((r) => r.rounds.length > 2)
  figures.batchEliminations += any((r) => r.rounds.some((round) => round.batchElimination))
  figures.undervotes += any((r) => r.undervotes > 0)
  for (const cause of CAUSES) figures.inactive[cause] += any((r) => (r.rounds.at(-1)?.inactive[cause] ?? 0) > 0)
}

describe('simulated elections with ranked contests', () => {
  it(`count the same through the ballot box as ballot by ballot, round for round, in ${ELECTIONS} seeded elections`, () => {
    for (let seed = 1; seed <= ELECTIONS; seed++) {
      const results: RcvResult[] = []
      for (const [id, c] of simulate(seed)) {
        const rows = [...c.rows].map(([ranking, ballots]) => ({ ranking, ballots }))
        const counted = contestRounds(c.rules, rows)
        const expected = plainTabulate(
          c.written,
          c.rules.selections.map((s) => s.id),
          c.marked,
        )
        expect(counted, `election ${seed}, contest ${id}`).toEqual(expected)
        results.push(counted)
      }
      expect(results.length, `election ${seed} has ranked contests`).toBeGreaterThan(0)
      addFigures(results)
    }
    console.log(`simulated ranked-choice elections: ${JSON.stringify(figures)}`)
    // The run is the one the test means: it held ties, long counts and every cause of an inactive ballot.
    expect(figures.elections).toBe(ELECTIONS)
    expect(figures.tiebreaks).toBeGreaterThan(0)
    expect(figures.tiebreaksWithVotes).toBeGreaterThan(0)
    expect(figures.moreThanTwoRounds).toBeGreaterThan(0)
    expect(figures.batchEliminations).toBeGreaterThan(0)
    expect(figures.undervotes).toBeGreaterThan(0)
    for (const cause of CAUSES) expect(figures.inactive[cause], cause).toBeGreaterThan(0)
  })
})
