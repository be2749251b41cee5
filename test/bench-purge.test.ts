import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { type ConsumedMessage, countBatch } from '../lib/counting/count-batch.ts'
import { purgeBenchmarkData } from '../lib/db/benchmark.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

const at = (values: Buffer[], partition = 0): ConsumedMessage[] => values.map((value, i) => ({ partition, offset: String(i), value }))
const rows = async (table: string, electionId: string, column = 'election_id') =>
  Number((await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)} where ${sql(column)} = ${electionId}`)[0]?.n)

describe("removing the benchmark's data", () => {
  it("deletes benchmark elections with their ballots, roll and positions, and nothing of anyone else's", async () => {
    const suffix = randomUUID().slice(0, 8)
    // An official's election, counted on a topic of its own.
    const official = await openTestElection(sql)
    const officialTopic = `test-official-${suffix}`
    await countBatch(sql, {
      groupId: 'test',
      topic: officialTopic,
      messages: at([ballot(official.id, 'north-0', 'ada', 'north'), ballot(official.id, 'south-0', 'alan', 'south')].map(encodeBallot)),
    })
    // A benchmark's election, as `bun run bench` makes one, counted on a benchmark topic,
    // with one rejection (a voter not on the roll) recorded there too.
    const plan = defaultPlan(`bench-purge-${suffix}`, { seed: 5, voters: 50, turnout: 1, invalidShare: 0, duplicateShare: 0 })
    await createSimulatedElection(sql, plan, 'Benchmark purge', { benchmark: true })
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, plan.electionId, 'open')
    const sim = new Simulation(plan)
    const castAt = new Date().toISOString()
    const benchBallots = Array.from({ length: 10 }, (_, k) => sim.messagesFor(k, castAt)[0]?.ballot).filter((b) => b !== undefined)
    const stranger = ballot(plan.electionId, 'not-on-the-roll', plan.candidates[0]?.id ?? '', plan.regions[0]?.id ?? '')
    const benchTopic = `bench.purge-${suffix}`
    const counted = await countBatch(sql, {
      groupId: 'bench-test',
      topic: benchTopic,
      messages: at([...benchBallots, stranger].map(encodeBallot)),
    })
    expect(counted.counted).toBe(benchBallots.length)
    expect(counted.rejected.map((r) => r.reason)).toEqual(['voter_not_registered'])

    // The official election's own message on the benchmark topic (a rejection: its voter is
    // not on the roll) belongs to it and stays.
    const [officialOnBenchTopic] = at([encodeBallot(ballot(official.id, 'stranger', 'ada', 'north'))], 1)
    await countBatch(sql, { groupId: 'bench-test', topic: benchTopic, messages: [officialOnBenchTopic!] })

    const purged = await purgeBenchmarkData(sql, [benchTopic], { electionIds: [plan.electionId] })
    expect(purged).toEqual({ elections: 1, ballots: benchBallots.length, voters: 50, kept: [] })

    for (const table of [
      'elections',
      'ballots',
      'voters',
      'regions',
      'tally_counts',
      'trend_buckets',
      'election_totals',
      'rejected_ballots',
    ]) {
      const left = await rows(table, plan.electionId, table === 'elections' ? 'id' : 'election_id')
      expect(left, `${table} of the benchmark election`).toBe(0)
    }
    expect(await messageLedger(sql, { topic: benchTopic })).toEqual([])

    const [kept] = await sql<{ n: number }[]>`
      select count(*)::int as n from rejected_ballots where election_id = ${official.id} and topic = ${benchTopic}`
    expect(kept?.n, "the official election's rejection on the benchmark topic").toBe(1)

    // The official's election is as it was: its ballots, roll, counts and balanced ledger.
    expect(await rows('ballots', official.id)).toBe(2)
    expect(await rows('voters', official.id)).toBe(official.voters.length)
    expect(await rows('tally_counts', official.id)).toBe(2)
    const ledger = await messageLedger(sql, { groupId: 'test', topic: officialTopic })
    expect(ledger.map((r) => [r.messages, r.balanced])).toEqual([['2', true]])
  })

  it('keeps a benchmark election some of whose messages came through another topic, and names it', async () => {
    const suffix = randomUUID().slice(0, 8)
    const plan = defaultPlan(`bench-elsewhere-${suffix}`, { seed: 6, voters: 20, turnout: 1, invalidShare: 0, duplicateShare: 0 })
    await createSimulatedElection(sql, plan, 'Benchmark reached by another topic', { benchmark: true })
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, plan.electionId, 'open')
    const one = new Simulation(plan).messagesFor(0, new Date().toISOString())[0]?.ballot
    await countBatch(sql, { groupId: 'test', topic: `test-votes-${suffix}`, messages: at([encodeBallot(one!)]) })

    const purged = await purgeBenchmarkData(sql, [`bench.elsewhere-${suffix}`], { electionIds: [plan.electionId] })
    expect(purged).toMatchObject({ elections: 0, kept: [plan.electionId] })
    expect(await rows('ballots', plan.electionId)).toBe(1)
    const ledger = await messageLedger(sql, { groupId: 'test', topic: `test-votes-${suffix}` })
    expect(ledger.map((r) => r.balanced)).toEqual([true])

    // Once that topic's message and position are gone (here by hand), the election goes too,
    // and later benchmark runs do not name it again.
    await sql`delete from ballots where election_id = ${plan.electionId}`
    await sql`delete from consumer_offsets where group_id = 'test' and topic = ${`test-votes-${suffix}`}`
    expect(await purgeBenchmarkData(sql, [], { electionIds: [plan.electionId] })).toMatchObject({ elections: 1, kept: [] })
  })
})
