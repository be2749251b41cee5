import { randomUUID } from 'node:crypto'
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BallotV2 } from '../domain/ballot.ts'
import { sendBallots } from '../lib/ballot-producer.ts'
import { addVoters, setElectionStatus } from '../lib/db/elections.ts'
import { createKafka } from '../lib/kafka.ts'
import { waitUntil } from '../lib/wait.ts'
import { startApiHarness } from './api-harness.ts'
import { startTally, type TallyProcess } from './processes.ts'

/**
 * The secret ballot across processes: ballots go to Kafka one by one, the real tally counts
 * them and its results publisher releases them; a reader polling the public contest page
 * never sees a precinct move by fewer than ten ballots (the election's minCellBallots'
 * default) while the election counts, and sees the exact count once counting finished.
 */
let h: Awaited<ReturnType<typeof startApiHarness>>
let producer: Producer
let tally: TallyProcess
beforeAll(async () => {
  h = await startApiHarness()
  producer = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'released-test' }).producer()
  await producer.connect()
  tally = startTally({ name: 'tally-for-released-results', env: { TALLY_SNAPSHOT_INTERVAL_MS: '50' } })
  await tally.waitHealthy()
})
afterAll(async () => {
  await tally?.stop()
  await producer?.disconnect()
  await h?.close()
})

describe('public results while an election counts', () => {
  it('move in steps of at least ten ballots per precinct, one ballot at a time notwithstanding, and are exact once counting finished', async () => {
    const id = `rel-${randomUUID().slice(0, 8)}`
    const regions = [{ id: 'p1', name: 'Precinct 1', state: 'S', registeredVoters: 60 }]
    const definition = {
      districts: [{ id: 'all', name: 'Everywhere', level: 'county' }],
      contests: [
        {
          id: 'mayor',
          name: 'Mayor',
          type: 'candidate',
          district: 'all',
          candidates: [
            { id: 'ann', name: 'Ann' },
            { id: 'ben', name: 'Ben' },
          ],
        },
      ],
    }
    const created = await h.request('/elections', {
      method: 'POST',
      headers: h.admin,
      body: JSON.stringify({ id, name: 'Released in steps', regions, definition, start: false }),
    })
    expect(created.status, await created.clone().text()).toBe(201)
    await addVoters(
      h.sql,
      id,
      Array.from({ length: 60 }, (_, i) => ({ id: `v-${i}`, regionId: 'p1' })),
    )
    await setElectionStatus(h.sql, id, 'open')
    // The results topic's snapshots of this election: the mayor's ballots in each.
    const onTopic: Array<number | null> = []
    const results = createKafka({
      brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: 'released-test',
    }).consumer({
      groupId: `released-results-${id}`,
    })
    await results.connect()
    await results.subscribe({ topic: 'results', fromBeginning: false })
    await results.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== id) return
        const snapshot = JSON.parse(message.value?.toString() ?? '{}')
        onTopic.push(snapshot.contests?.find((c: { id: string }) => c.id === 'mayor')?.ballots ?? null)
      },
    })

    const seen: Array<{ ballots: number; ann: number }> = []
    const look = async () => {
      const res = await h.request(`/elections/${id}/contests/mayor`)
      expect(res.status).toBe(200)
      const body = await res.json()
      const p1 = body.regions.find((r: { id: string }) => r.id === 'p1')
      const last = seen.at(-1)
      if (!last || last.ballots !== p1.ballots) seen.push({ ballots: p1.ballots, ann: p1.votes?.ann ?? 0 })
    }
    const counted = async () => {
      const [row] = await h.sql<{ n: number }[]>`
        select coalesce(sum(ballots), 0)::int as n from contest_ballots where election_id = ${id} and contest_id = 'mayor'`
      return row?.n ?? 0
    }

    // 37 ballots, one at a time, each counted before the next is sent; the page read after each.
    const total = 37
    for (let i = 0; i < total; i++) {
      const ballot: BallotV2 = {
        v: 2,
        ballotId: randomUUID(),
        electionId: id,
        voterId: `v-${i}`,
        regionId: 'p1',
        channel: 'election_day',
        castAt: new Date().toISOString(),
        marks: { mayor: [i % 3 === 0 ? 'ben' : 'ann'] },
      }
      await sendBallots(producer, [{ key: ballot.voterId, electionId: id, ballot }])
      expect(await waitUntil(async () => (await counted()) === i + 1, 15_000, 20), `ballot ${i + 1} counted`).toBe(true)
      // Give the publisher a few of its rounds (50 ms each) to release what is due.
      await new Promise((r) => setTimeout(r, 150))
      await look()
    }
    // Released once a whole step is waiting (at 10, 20, 30 — or a ballot later when the
    // publisher's round comes after the next ballot): fewer than ten stay unreleased.
    const settled = await waitUntil(
      async () => {
        await look()
        return (seen.at(-1)?.ballots ?? 0) > total - 10
      },
      10_000,
      50,
    )
    expect(settled).toBe(true)
    expect(seen[0]?.ballots).toBe(0)
    expect(seen.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < seen.length; i++)
      expect((seen[i]?.ballots ?? 0) - (seen[i - 1]?.ballots ?? 0), 'a published step').toBeGreaterThanOrEqual(10)
    // The snapshot reads the style's released total, which each release moves by what it
    // changed; the page reads the released cells. After several releases they agree, in
    // every element of the vector, not only in ballots.
    const agreed = await waitUntil(async () => onTopic.at(-1) === seen.at(-1)?.ballots, 10_000, 50)
    expect(agreed, `the topic's ${onTopic.at(-1)} against the page's ${seen.at(-1)?.ballots}`).toBe(true)
    const [sums] = await h.sql<{ cells: number[]; total: number[] }[]>`
      select (select vec_sum(counts) from released_style_counts where election_id = ${id}) as cells,
             (select vec_sum(counts) from released_style_totals where election_id = ${id}) as total`
    expect(sums?.total).toEqual(sums?.cells)
    expect(sums?.total?.[0]).toBe(seen.at(-1)?.ballots)

    await setElectionStatus(h.sql, id, 'closing')
    await setElectionStatus(h.sql, id, 'closed')
    await look()
    // Ballots 0, 3, 6, … went to Ben: 13 of 37.
    expect(seen.at(-1)).toEqual({ ballots: 37, ann: 24 })
    // The results topic too: its snapshots moved in the same steps, and the close, which
    // counted nothing, still brought a snapshot with the exact count.
    const exact = await waitUntil(() => onTopic.at(-1) === total, 15_000, 50)
    await results.disconnect()
    expect(exact, `the topic's last snapshots: ${onTopic.slice(-3).join(', ')}`).toBe(true)
    const steps = [...new Set(onTopic.filter((n): n is number => n !== null))]
    for (let i = 1; i < steps.length - 1; i++) expect((steps[i] ?? 0) - (steps[i - 1] ?? 0)).toBeGreaterThanOrEqual(10)
  })
})
