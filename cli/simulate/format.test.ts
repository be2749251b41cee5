import { describe, expect, it } from 'vitest'
import {
  clip,
  type Headline,
  headlineLines,
  headlineSchema,
  headlineText,
  linksNote,
  pickHeadlines,
  thresholdText,
  yesShareText,
} from './format.ts'

/**
 * What `simulate` prints about contests and about what it leaves running, read as a user
 * reads it: the words and the figures, never a figure that contradicts the words.
 */

const MAJORITY = { numerator: 1, denominator: 2, rule: 'more-than' as const }
const PCT55 = { numerator: 11, denominator: 20, rule: 'at-least' as const }
const TWO_THIRDS = { numerator: 2, denominator: 3, rule: 'at-least' as const }

function measure(yes: number, no: number, opts: { threshold?: Headline['threshold']; decided?: boolean } = {}): Headline {
  const votes = yes + no
  return headlineSchema.parse({
    contestId: 'nation.prop-1',
    name: 'National Proposition 1: Veterans Housing',
    type: 'measure',
    votesAllowed: 1,
    numberElected: 1,
    threshold: opts.threshold ?? MAJORITY,
    totals: { ballots: votes + 10, votes, undervotes: 10, overvotes: 0 },
    selections: [
      { id: 'yes', name: 'Yes', party: null, writeIn: false, votes: yes, share: votes ? yes / votes : 0 },
      { id: 'no', name: 'No', party: null, writeIn: false, votes: no, share: votes ? no / votes : 0 },
    ],
    outcome: { leaders: [], passes: null, decided: opts.decided ?? false, calls: [], outstanding: opts.decided ? 0 : 1000 },
    minCellBallots: 10,
  })
}

function race(votes: Array<[name: string, party: string | null, n: number]>, opts: { seats?: number; decided?: boolean } = {}): Headline {
  const total = votes.reduce((s, [, , n]) => s + n, 0)
  return headlineSchema.parse({
    contestId: 'nation.president',
    name: 'President',
    type: 'candidate',
    votesAllowed: opts.seats ?? 1,
    numberElected: opts.seats ?? 1,
    threshold: null,
    totals: { ballots: total, votes: total, undervotes: 0, overvotes: 0 },
    selections: votes.map(([name, party, n]) => ({
      id: name.toLowerCase().replace(/ /g, '-'),
      name,
      party,
      writeIn: false,
      votes: n,
      share: total ? n / total : 0,
    })),
    outcome: { leaders: [], passes: null, decided: opts.decided ?? false, calls: [], outstanding: 0 },
    minCellBallots: 10,
  })
}

describe('a measure against its threshold', () => {
  it('at 54.9 % of a 55 % threshold is failing and undecided, never passing', () => {
    const text = headlineText(measure(549, 451, { threshold: PCT55 }))
    expect(text).toBe('yes 54.9% · needs 55% · failing so far, undecided')
    expect(text).not.toMatch(/pass/)
  })

  it('at 54.96 % of 55 % does not round up to the threshold', () => {
    const text = headlineText(measure(5496, 4504, { threshold: PCT55 }))
    expect(text).toBe('yes 54.96% · needs 55% · failing so far, undecided')
    expect(text).not.toMatch(/55\.0%/)
  })

  it('a hair under the threshold shows the hair', () => {
    // 54.99999 %: three decimals still read 55.000, so the share is rounded down.
    expect(yesShareText(5_499_999, 4_500_001, PCT55)).toBe('54.999%')
    expect(headlineText(measure(5_499_999, 4_500_001, { threshold: PCT55, decided: true }))).toMatch(/· fails$/)
  })

  it('at exactly 55 % passes a 55 % threshold ("at least")', () => {
    expect(headlineText(measure(55, 45, { threshold: PCT55 }))).toBe('yes 55.0% · needs 55% · passing so far, undecided')
    expect(headlineText(measure(55, 45, { threshold: PCT55, decided: true }))).toBe('yes 55.0% · needs 55% · passes')
  })

  it('at exactly half fails a simple majority ("more than"), and a hair over passes with the hair shown', () => {
    expect(headlineText(measure(500, 500))).toBe('yes 50.0% · needs more than 50% · failing so far, undecided')
    expect(headlineText(measure(50_004, 49_996))).toBe('yes 50.004% · needs more than 50% · passing so far, undecided')
    expect(yesShareText(50_000_001, 49_999_999, MAJORITY)).toBe('50.001%')
  })

  it('states two thirds as the fraction, and a share just under it below it', () => {
    expect(thresholdText(TWO_THIRDS)).toBe('2/3 (66.7%)')
    expect(headlineText(measure(6666, 3334, { threshold: TWO_THIRDS }))).toBe('yes 66.66% · needs 2/3 (66.7%) · failing so far, undecided')
    expect(headlineText(measure(2, 1, { threshold: TWO_THIRDS, decided: true }))).toBe('yes 66.7% · needs 2/3 (66.7%) · passes')
  })

  it('states other thresholds as the law does', () => {
    expect(thresholdText({ numerator: 23, denominator: 40 })).toBe('57.5%')
    expect(thresholdText({ numerator: 3, denominator: 5 })).toBe('60%')
    expect(thresholdText({ numerator: 1, denominator: 2 })).toBe('more than 50%')
  })

  it('says so when nothing is counted yet, and hides a contest of fewer ballots than a public cell', () => {
    expect(headlineText(measure(0, 0, { threshold: PCT55 }))).toBe('no votes yet · needs 55%')
    const small = { ...measure(3, 2), totals: { ballots: 5, votes: 0, undervotes: 0, overvotes: 0 } }
    expect(headlineText(small)).toBe('fewer than 10 ballots so far: not shown yet')
  })
})

describe('a candidate contest', () => {
  it('names the leader with party and share, the runner-up, and whether it is decided', () => {
    const votes: Array<[string, string | null, number]> = [
      ['Ben Cole', 'Frontier', 460],
      ['Ava Stone', 'Harbor', 520],
      ['Cy Dunn', null, 20],
    ]
    expect(headlineText(race(votes))).toBe('Ava Stone (Harbor) 52.0% · Ben Cole 46.0% · leads, undecided')
    expect(headlineText(race(votes, { decided: true }))).toBe('Ava Stone (Harbor) 52.0% · Ben Cole 46.0% · wins')
  })

  it('says tied, not leads, on a tie', () => {
    expect(
      headlineText(
        race([
          ['Ava Stone', 'Harbor', 500],
          ['Ben Cole', 'Frontier', 500],
        ]),
      ),
    ).toMatch(/tied at 500$/)
  })

  it('lists the leaders for each seat of a vote-for-N contest', () => {
    const council = race(
      [
        ['Ann A', null, 300],
        ['Bo B', null, 250],
        ['Cai C', null, 250],
        ['Di D', null, 200],
      ],
      { seats: 2 },
    )
    expect(headlineText(council)).toBe('Ann A 30.0%, Bo B 25.0% · tied for seat 2')
    const settled = race(
      [
        ['Ann A', null, 300],
        ['Bo B', null, 260],
        ['Cai C', null, 240],
      ],
      { seats: 2, decided: true },
    )
    expect(headlineText(settled)).toBe('Ann A 37.5%, Bo B 32.5% · win the 2 seats')
  })

  it('says no votes yet before any', () => {
    expect(headlineText(race([['Ava Stone', 'Harbor', 0]]))).toBe('no votes yet')
  })
})

describe('the headline block', () => {
  it('has a title and one line per contest, none wider than the terminal', () => {
    const lines = headlineLines([race([['Ava Stone', 'Harbor', 520]]), measure(549, 451, { threshold: PCT55 })], 155, 60)
    expect(lines).toHaveLength(3)
    expect(lines[0]).toBe('  headline contests (2 of 155 on the ballot)')
    expect(lines[1]).toMatch(/^ {2}President +Ava Stone \(Harbor\) 100\.0%/)
    expect(lines[2]).toMatch(/^ {2}National Proposition 1: Veter… +yes 54\.9%/)
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(60)
    expect(lines[2]?.endsWith('…')).toBe(true)
  })

  it('is empty before the first read', () => {
    expect(headlineLines([], 155, 80)).toEqual([])
  })

  it('clips by characters, with an ellipsis', () => {
    expect(clip('abcdef', 4)).toBe('abc…')
    expect(clip('abc', 4)).toBe('abc')
  })
})

describe('the headline contests picked from the API list', () => {
  it('are the widest single-seat race, the widest measure, the widest council, then ballot order', () => {
    const c = (id: string, type: 'candidate' | 'measure', district: string, regions: number, votesAllowed = 1) => ({
      id,
      name: id,
      type,
      district,
      regions,
      votesAllowed,
    })
    const list = [
      c('nation.president', 'candidate', 'nation', 1000),
      c('st-a.governor', 'candidate', 'st-a', 400),
      c('st-a.regents', 'candidate', 'st-a', 400, 2),
      c('nation.assembly', 'candidate', 'nation', 1000, 3),
      c('county-x.sheriff', 'candidate', 'county-x', 30),
      c('st-a.prop-a', 'measure', 'st-a', 400),
      c('nation.prop-1', 'measure', 'nation', 1000),
    ]
    expect(pickHeadlines(list)).toEqual(['nation.president', 'nation.prop-1', 'nation.assembly', 'st-a.governor'])
    expect(
      pickHeadlines(
        list.filter((x) => x.type === 'candidate'),
        2,
      ),
    ).toEqual(['nation.president', 'nation.assembly'])
    expect(pickHeadlines([])).toEqual([])
  })
})

describe('the note beside the links', () => {
  const services = [
    { name: 'tally', pid: 4101 },
    { name: 'worker', pid: 4102 },
    { name: 'api', pid: 4103 },
  ]

  it('without --keep: the links stop working as the run ends, and --keep is how to keep them', () => {
    const [line, ...rest] = linksNote({ external: false, keep: false, services, stack: true })
    expect(rest).toEqual([])
    expect(line).toMatch(/^these links stop working now/)
    expect(line).toMatch(/tally, worker, api and the local stack/)
    expect(line).toMatch(/--keep/)
  })

  it('with --keep: what is left running, with pids, and the commands that stop it, in order', () => {
    const lines = linksNote({ external: false, keep: true, services, stack: true })
    expect(lines[0]).toBe(
      'these links stay up (--keep): left running tally (pid 4101), worker (pid 4102), api (pid 4103) and the local stack; logs in .stack/logs/',
    )
    expect(lines[1]).toMatch(/^to stop them: `kill 4101 4102 4103`, then once they have exited `npx bun run stack down`/)
  })

  it('with --keep when the stack was already up: only the processes to stop', () => {
    const lines = linksNote({ external: false, keep: true, services, stack: false })
    expect(lines[1]).toMatch(/^to stop them: `kill 4101 4102 4103` \(/)
    expect(lines.join('\n')).not.toMatch(/stack down/)
  })

  it('when everything was running before the run: the links stay up, with or without --keep', () => {
    for (const keep of [false, true])
      expect(linksNote({ external: false, keep, services: [], stack: false })).toEqual([
        'these links stay up: the stack and the services were running before this run, and it leaves them as they were',
      ])
  })

  it('against VOTESTREAM_API_URL: nothing to say, unless --keep was asked for', () => {
    expect(linksNote({ external: true, keep: false, services: [], stack: false })).toEqual([])
    expect(linksNote({ external: true, keep: true, services: [], stack: false })[0]).toMatch(/nothing to keep/)
  })
})
