import { describe, expect, it } from 'vitest'
import { type CallDecision, decideCall, outstandingBallots } from './results.ts'

/**
 * Race calls against seeded elections built to mislead: close races, regions that report
 * at different times, early ballots first and mail ballots last, each channel leaning its
 * own way. At every snapshot the rule sees only what a simulated election's facts show
 * (the counts, and the plan of what is still to come, per region), and every call it makes
 * must name the winner of the final count.
 */

function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

interface Ballot {
  region: number
  candidate: number
  order: number
}

function buildElection(seed: number) {
  const r = rng(seed)
  const candidates = 2 + Math.floor(r() * 4)
  const regions = 1 + Math.floor(r() * 12)
  const ballots: Ballot[] = []
  for (let g = 0; g < regions; g++) {
    const voters = 50 + Math.floor(r() * 400)
    const reportsAt = r() // when this region's election-day ballots start arriving
    // A close race: shares near 1/candidates, each channel skewed its own way.
    const base = Array.from({ length: candidates }, () => 1 + (r() - 0.5) * 0.2)
    const lean = { early: Math.floor(r() * candidates), mail: Math.floor(r() * candidates) }
    for (let i = 0; i < voters; i++) {
      const u = r()
      const channel = u < 0.25 ? 'mail' : u < 0.5 ? 'early' : 'day'
      const weights = base.map((w, c) =>
        channel === 'mail' && c === lean.mail ? w * 1.6 : channel === 'early' && c === lean.early ? w * 1.4 : w,
      )
      const total = weights.reduce((s, w) => s + w, 0)
      let pick = r() * total
      let candidate = 0
      while (candidate < candidates - 1 && pick >= (weights[candidate] ?? 0)) pick -= weights[candidate++] ?? 0
      // Early ballots are counted first, then election day region by region, mail last.
      const order = channel === 'early' ? r() * 0.2 : channel === 'day' ? 0.2 + reportsAt * 0.5 + r() * 0.1 : 0.9 + r() * 0.1
      ballots.push({ region: g, candidate, order })
    }
  }
  ballots.sort((a, b) => a.order - b.order)
  return { candidates, regions, ballots }
}

function winner(votes: number[]): number | null {
  const top = Math.max(...votes)
  const leaders = votes.flatMap((v, i) => (v === top ? [i] : []))
  return leaders.length === 1 ? (leaders[0] ?? null) : null
}

describe('race calls over seeded, misleading elections', () => {
  it('never calls a race that the final count contradicts, and reports how early calls come', () => {
    let calls = 0
    let wrong = 0
    let earliness = 0
    let elections = 0
    let naiveWrong = 0 // calling the leader at half the count, to show these elections do mislead
    for (let seed = 1; seed <= 240; seed++) {
      const e = buildElection(seed * 7919)
      elections++
      const scopes = [null, ...Array.from({ length: e.regions }, (_, g) => g)]
      const planned = (scope: number | null) => e.ballots.filter((b) => scope === null || b.region === scope).length
      const finalVotes = (scope: number | null) => {
        const v = Array.from({ length: e.candidates }, () => 0)
        for (const b of e.ballots) if (scope === null || b.region === scope) v[b.candidate] = (v[b.candidate] ?? 0) + 1
        return v
      }
      const called = new Map<number | null, CallDecision>()
      const counts = new Map(scopes.map((s) => [s, Array.from({ length: e.candidates }, () => 0)]))
      const step = Math.max(1, Math.floor(e.ballots.length / 50))
      for (let i = 0; i < e.ballots.length; i++) {
        const b = e.ballots[i] as Ballot
        for (const s of [null, b.region]) {
          const v = counts.get(s) as number[]
          v[b.candidate] = (v[b.candidate] ?? 0) + 1
        }
        if (i + 1 === Math.floor(e.ballots.length / 2)) {
          const leader = winner(counts.get(null) as number[])
          if (leader !== null && leader !== winner(finalVotes(null))) naiveWrong++
        }
        if ((i + 1) % step !== 0 && i + 1 !== e.ballots.length) continue
        for (const s of scopes) {
          if (called.has(s)) continue
          const v = counts.get(s) as number[]
          const counted = v.reduce((x, y) => x + y, 0)
          const bound = outstandingBallots({ status: 'open', simulated: true, planned: planned(s), counted, backlog: null })
          const call = decideCall(
            v.map((votes, c) => ({ id: String(c), votes })),
            bound,
          )
          if (!call) continue
          called.set(s, call)
          calls++
          earliness += counted / planned(s)
          if (Number(call.candidateId) !== winner(finalVotes(s))) wrong++
        }
      }
    }
    console.log(
      `race calls: ${calls} calls in ${elections} elections, ${wrong} wrong, made on average with ${((100 * earliness) / Math.max(calls, 1)).toFixed(1)}% of the scope's ballots counted; a naive call at half the count would be wrong in ${naiveWrong}`,
    )
    expect(elections).toBeGreaterThanOrEqual(200)
    expect(calls).toBeGreaterThan(elections)
    expect(naiveWrong).toBeGreaterThan(0)
    expect(wrong).toBe(0)
  })
})
