import { randomUUID } from 'node:crypto'
import { MockActivityEnvironment } from '@temporalio/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCertifyActivities } from '../activities/certify.ts'
import type { ActivityDeps } from '../activities/deps.ts'
import { type BallotV2, type Channel, encodeBallot } from '../domain/ballot.ts'
import type { CertificationCheck } from '../domain/certification.ts'
import { electionDefinitionSchema, resolveDefinition } from '../domain/contests.ts'
import type { Ranking } from '../domain/rcv/ballot.ts'
import { contestRounds } from '../domain/rcv/contest-rounds.ts'
import { plainTabulate } from '../domain/rcv/plain-tabulate.ts'
import { rcvRulesSchema } from '../domain/rcv/rules.ts'
import { generateDefinition, markBallot, regionsFromGeography } from '../domain/simulation-contests.ts'
import { geography } from '../domain/simulation-geography.ts'
import { pick, uniform } from '../domain/simulation-random.ts'
import { indexDefinition, rcvRanking } from '../domain/tabulation.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { mixBallotBox, runningRankings } from '../lib/db/ballot-box.ts'
import { addVoters, setElectionStatus } from '../lib/db/elections.ts'
import { startApiHarness } from './api-harness.ts'

/**
 * 200 seeded simulated elections with ranked contests, each through the real database and
 * API: created with the generator's definition over a few precincts, its ballots (4 to 600,
 * so close races, ties and contests with next to no ballots are common) counted by the
 * counting transaction, mixed into the box; then every ranked contest's rounds — as the API
 * serves them, and as the call writer reads them — must equal a plain ballot-by-ballot count
 * of the generator's own rankings (domain/rcv/plain-tabulate.ts, which shares nothing with
 * the production tabulation), and the certification item must pass.
 */

let h: Awaited<ReturnType<typeof startApiHarness>>
beforeAll(async () => {
  h = await startApiHarness()
})
afterAll(() => h?.close())

const ELECTIONS = 200
const PRECINCTS = [1, 2, 3, 5, 8]
const CHANNELS: Channel[] = ['early', 'election_day', 'mail']

describe('ranked contests of 200 simulated elections, through the database', () => {
  it('serve and certify rounds equal to a plain count of the generator’s rankings', { timeout: 600_000 }, async () => {
    const seen = { contests: 0, shown: 0, suppressed: 0, tiebreaks: 0, moreThanTwoRounds: 0, ballots: 0 }
    const certify = createCertifyActivities({ sql: h.sql, tallyGroupId: 'rcv-elections-test' } as ActivityDeps)
    for (let seed = 1; seed <= ELECTIONS; seed++) {
      const id = `rcv-e${seed}-${randomUUID().slice(0, 6)}`
      const places = regionsFromGeography(geography(seed, PRECINCTS[seed % PRECINCTS.length] as number))
      const definition = generateDefinition(seed, places)
      const parsed = electionDefinitionSchema.parse(definition)
      const resolved = resolveDefinition(parsed, places)
      if (!resolved.ok) throw new Error(`election ${seed} does not resolve`)
      const index = indexDefinition(resolved.resolved)
      const ranked = resolved.resolved.contests.filter((c) => c.rcv)
      if (ranked.length === 0) continue
      const ballots = Math.round(4 * 150 ** uniform(seed, 0, 901))
      const res = await h.request('/elections', {
        method: 'POST',
        headers: h.admin,
        body: JSON.stringify({
          id,
          name: `Ranked ${seed}`,
          regions: places.map((p) => ({ id: p.id, name: p.name, state: p.state, registeredVoters: ballots })),
          definition,
          start: false,
        }),
      })
      expect(res.status, await res.clone().text()).toBe(201)
      await addVoters(
        h.sql,
        id,
        Array.from({ length: ballots }, (_, k) => ({ id: `v${k}`, regionId: places[pick(seed, k, 902, places.length)]?.id ?? '' })),
      )
      await setElectionStatus(h.sql, id, 'open')

      const marked = new Map<string, Ranking[]>(ranked.map((c) => [c.id, []]))
      const messages = Array.from({ length: ballots }, (_, k) => {
        const regionId = places[pick(seed, k, 902, places.length)]?.id ?? ''
        const channel = CHANNELS[k % 3] as Channel
        const marks = markBallot(seed, k, index, regionId, channel)
        const style = resolved.resolved.styles.get(resolved.resolved.styleOfRegion.get(regionId) ?? '') ?? []
        for (const c of ranked) if (style.includes(c.id)) marked.get(c.id)?.push(rcvRanking(marks[c.id] ?? []))
        const ballot: BallotV2 = {
          v: 2,
          ballotId: randomUUID(),
          electionId: id,
          voterId: `v${k}`,
          regionId,
          channel,
          castAt: new Date().toISOString(),
          marks,
        }
        return { partition: 0, offset: String(k), value: encodeBallot(ballot) }
      })
      for (let from = 0; from < messages.length; from += 250) {
        const outcome = await countBatch(h.sql, {
          groupId: 'rcv-elections-test',
          topic: `rcv-elections-${id}`,
          messages: messages.slice(from, from + 250),
        })
        expect(
          outcome.rejected.map((r) => r.reason),
          `election ${seed}`,
        ).toEqual([])
      }
      await mixBallotBox(h.sql)
      seen.ballots += ballots

      for (const c of ranked) {
        seen.contests++
        const expected = plainTabulate(
          rcvRulesSchema.parse(c.rcv),
          c.selections.map((s) => s.id),
          marked.get(c.id) ?? [],
        )
        // What the call writer reads (every ballot, mixed or not).
        expect(contestRounds(c, await runningRankings(h.sql, id, c.id)), `election ${seed}, ${c.id}`).toEqual(expected)
        // What the public is served.
        const served = await (await h.request(`/elections/${id}/contests/${encodeURIComponent(c.id)}/rounds`)).json()
        if (expected.ballots - expected.undervotes < 10) {
          expect(served, `election ${seed}, ${c.id}`).toMatchObject({ suppressed: true, rounds: [] })
          seen.suppressed++
          continue
        }
        seen.shown++
        expect(served.rounds, `election ${seed}, ${c.id}`).toEqual(expected.rounds)
        if ((expected.rounds.at(-1)?.continuingVotes ?? 0) > 0) expect(served.elected).toBe(expected.winner)
        if (expected.rounds.some((r) => r.tiebreak)) seen.tiebreaks++
        if (expected.rounds.length > 2) seen.moreThanTwoRounds++
      }
      // Certified once counting has finished: the close makes every held ranking public, and
      // the certification compares the public rankings with the box.
      await setElectionStatus(h.sql, id, 'closing')
      await setElectionStatus(h.sql, id, 'closed')
      const check = (await new MockActivityEnvironment().run(() => certify.checkCertification(id, { repaired: 0 }))) as CertificationCheck
      const item = check.items.find((i) => i.id === 'ranked_rounds_recounted')
      expect(item?.passed, `election ${seed}: ${item?.detail}`).toBe(true)
    }
    console.log(`ranked contests through the database: ${JSON.stringify(seen)}`)
    // The run exercised what it claims: many contests shown and suppressed, ties and long runoffs among them.
    expect(seen.contests).toBeGreaterThan(400)
    expect(seen.shown).toBeGreaterThan(100)
    expect(seen.suppressed).toBeGreaterThan(10)
    expect(seen.tiebreaks).toBeGreaterThan(0)
    expect(seen.moreThanTwoRounds).toBeGreaterThan(50)
  })
})
