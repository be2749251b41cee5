import { describe, expect, it } from 'vitest'
import { type BallotCell, contestResults, hiddenRegionsOf } from './contest-results.ts'
import type { ContestRules } from './contests.ts'

/** Ballot cells from `region: { channel: ballots }`. */
const cells = (table: Record<string, Record<string, number>>): BallotCell[] =>
  Object.entries(table).flatMap(([regionId, byChannel]) =>
    Object.entries(byChannel).map(([channel, ballots]) => ({ regionId, channel, ballots, undervotes: 0, overvotes: 0 })),
  )
const hide = (table: Record<string, Record<string, number>>, min = 10) => [...hiddenRegionsOf(Object.keys(table), cells(table), min)].sort()

describe('hiddenRegionsOf: the regions a contest page hides', () => {
  it('hides nothing when every region × channel cell is empty or holds at least the minimum', () => {
    expect(hide({ a: { election_day: 40, mail: 10 }, b: { election_day: 12 }, c: {} })).toEqual([])
  })

  it('hides a large region that holds a small cell, and the smallest other with it', () => {
    // a: 55 ballots, 3 of them by mail. Alone, the contest total minus b and c would give a back.
    expect(
      hide({ a: { election_day: 40, early: 12, mail: 3 }, b: { election_day: 30, mail: 20 }, c: { election_day: 25, mail: 14 } }),
    ).toEqual(['a', 'c'])
  })

  it("adds regions until each channel's hidden cells are none or at least the minimum", () => {
    // a's 3 mail ballots: b (the smallest) has no mail, so the mail total minus the shown
    // regions' mail would give a's 3 back; c (mail 15) is needed as well. d stays shown.
    expect(
      hide({
        a: { election_day: 40, mail: 3 },
        b: { election_day: 20 },
        c: { election_day: 30, mail: 15 },
        d: { election_day: 90, mail: 40 },
      }),
    ).toEqual(['a', 'b', 'c'])
  })

  it('hides small regions as before: 1..9 ballots, then the smallest others until they add up to 10', () => {
    expect(hide({ a: { election_day: 4 }, b: { election_day: 3 }, c: { election_day: 12 }, d: { election_day: 50 } })).toEqual([
      'a',
      'b',
      'c',
    ])
    expect(hide({ a: { election_day: 4 }, b: { election_day: 6 }, c: { election_day: 12 } })).toEqual(['a', 'b'])
  })

  it('never hides an empty region, and hides every other one when no fewer will do', () => {
    expect(hide({ a: { mail: 2, election_day: 30 }, b: { election_day: 30 }, e: {} })).toEqual(['a', 'b'])
  })

  it('of regions of equal ballots takes the first listed', () => {
    expect(hide({ a: { election_day: 40, mail: 1 }, y: { election_day: 20, mail: 20 }, x: { election_day: 20, mail: 20 } })).toEqual([
      'a',
      'y',
    ])
  })

  it('uses the configured minimum', () => {
    const t = { a: { election_day: 40, mail: 3 }, b: { election_day: 20, mail: 20 } }
    expect(hide(t, 3)).toEqual([])
    expect(hide(t, 4)).toEqual(['a', 'b'])
  })
})

describe('contestResults: the page hides what hiddenRegionsOf hides', () => {
  const rules: ContestRules = {
    id: 'race',
    name: 'Race',
    type: 'candidate',
    district: 'all',
    position: 0,
    votesAllowed: 1,
    numberElected: 1,
    writeIns: false,
    selections: [
      { id: 'x', name: 'X', party: null, writeIn: false },
      { id: 'y', name: 'Y', party: null, writeIn: false },
    ],
    threshold: null,
  }
  it("shows no region whose one early ballot its channels' zeros would give away", () => {
    // Y has no election-day and no mail votes anywhere; p1's one early ballot is Y's.
    const ballots = cells({
      p0: { election_day: 20, early: 15, mail: 12 },
      p1: { election_day: 30, early: 1, mail: 25 },
      p2: { election_day: 40, early: 30, mail: 20 },
    })
    const votes = [
      ...ballots.map((b) => ({
        regionId: b.regionId,
        channel: b.channel,
        selectionId: 'x',
        votes: b.channel === 'early' && b.regionId === 'p1' ? 0 : b.ballots,
      })),
      { regionId: 'p1', channel: 'early', selectionId: 'y', votes: 1 },
    ]
    const regions = ['p0', 'p1', 'p2'].map((id) => ({ id, name: id, state: 'S', registeredVoters: 200 }))
    const page = contestResults({ electionId: 'e', rules, votes, ballots, regions, finished: true, calls: [] })
    expect(page.channels.map((c) => [c.channel, c.votes?.y])).toEqual([
      ['early', 1],
      ['election_day', 0],
      ['mail', 0],
    ])
    expect(page.regions.map((r) => [r.id, r.suppressed, r.votes?.y ?? null])).toEqual([
      ['p0', true, null],
      ['p1', true, null],
      ['p2', false, 0],
    ])
    expect(page.balanced).toBe(true)
  })
})
