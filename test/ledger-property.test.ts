import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHANNELS, decodeBallot } from '../domain/ballot.ts'
import { accountBatch } from '../lib/counting/account-batch.ts'
import type { BatchOutcome, ConsumedMessage } from '../lib/counting/count-batch.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

/**
 * Property, on the real PostgreSQL through the real accountBatch: whatever arrives —
 * random bytes, random JSON, valid ballots of two open elections with one field broken,
 * exact re-sends and re-sends at new positions, ballots that steal another's id — cut
 * into random batches, some redelivered whole and some re-fetched from an earlier offset,
 * every position is accounted for exactly once (counted, rejected or a recorded duplicate),
 * consistently with what the contract makes of its bytes; no exception escapes; the
 * ledger balances; the running tallies equal a recount of the ballots.
 */
const sql = testSql()
const GROUP = 'ledger-prop'
const VOTERS_PER_RUN = 40
const ROLL = 8000
/** Voters at the end of the roll that only the regression tests use. */
const RESERVED = 10
let elections: string[] = []

beforeAll(async () => {
  const roll = { regions: { north: ROLL, south: ROLL } }
  elections = [(await openTestElection(sql, roll)).id, (await openTestElection(sql, roll)).id]
})
afterAll(() => sql.end({ timeout: 5 }))

const FIELDS = ['v', 'ballotId', 'electionId', 'voterId', 'candidateId', 'regionId', 'channel', 'castAt'] as const
type Field = (typeof FIELDS)[number]

/** One change to one field of a valid ballot. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({
    op: fc.constant('string' as const),
    field: fc.constantFrom(...FIELDS),
    value: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom('', '\u0000', '\ud800', '\udc00x', 'ÄDA', '..', 'x'.repeat(65), '0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00'),
    ),
  }),
  fc.record({
    op: fc.constant('number' as const),
    field: fc.constantFrom(...FIELDS),
    value: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(1, 1e308, -0, 2 ** 53 + 1)),
  }),
  fc.record({ op: fc.constant('null' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({ op: fc.constant('case' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({ op: fc.constant('nul' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({
    op: fc.constant('shift' as const),
    // castAt moved: minutes either way, days before (before the opening), years ahead.
    ms: fc.oneof(fc.integer({ min: -600_000, max: 600_000 }), fc.integer({ min: -5 * 86_400_000, max: 0 }), fc.constant(3.2e11)),
  }),
)

const message = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => ({ kind: 'bytes' as const, bytes: Buffer.from(b) })) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map((j) => ({ kind: 'bytes' as const, bytes: Buffer.from(j) })) },
  { weight: 1, arbitrary: fc.constantFrom(null, '', 'null', '{}', '[]', '"x"').map((v) => ({ kind: 'fixed' as const, value: v })) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('ballot' as const),
      election: fc.nat({ max: 1 }),
      // One in ten not on the roll; voters repeat within a run, so some vote twice.
      voter: fc.oneof({ weight: 9, arbitrary: fc.nat({ max: VOTERS_PER_RUN - 1 }) }, { weight: 1, arbitrary: fc.constant(-1) }),
      candidate: fc.constantFrom('ada', 'alan', 'grace', 'ada', 'alan', 'grace', 'zorro'),
      wrongRegion: fc.nat({ max: 9 }).map((n) => n === 0),
      channel: fc.constantFrom(...CHANNELS),
      upper: fc.boolean(),
      mutate: fc.option(mutation, { freq: 2 }),
    }),
  },
  // The bytes of an earlier message again, at a new position (a producer's retry).
  { weight: 3, arbitrary: fc.nat().map((i) => ({ kind: 'resend' as const, index: i })) },
  // An earlier ballot's id, for another voter.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('steal' as const), index: fc.nat(), voter: fc.nat({ max: VOTERS_PER_RUN - 1 }) }) },
)

type Spec = typeof message extends fc.Arbitrary<infer T> ? T : never

function mutate(b: Record<string, unknown>, m: NonNullable<Extract<Spec, { kind: 'ballot' }>['mutate']>) {
  if (m.op === 'shift') {
    b.castAt = new Date(Date.parse(String(b.castAt)) + m.ms).toISOString()
    return
  }
  const f: Field = m.field
  if (m.op === 'delete') delete b[f]
  else if (m.op === 'string') b[f] = m.value
  else if (m.op === 'number') b[f] = m.value
  else if (m.op === 'null') b[f] = null
  else if (m.op === 'case') {
    const s = String(b[f])
    b[f] = s === s.toUpperCase() ? s.toLowerCase() : s.toUpperCase()
  } else b[f] = `${String(b[f])}\u0000`
}

interface Sent {
  partition: number
  offset: string
  value: Buffer | null
}

const key = (partition: number, offset: string | bigint) => `${partition}/${offset}`

/** What each position became, from the three tables. */
async function outcomesOf(topic: string) {
  return sql<
    {
      kind: 'counted' | 'rejected' | 'duplicate'
      p: number
      o: string
      reason: string | null
      ballotId: string | null
      electionId: string | null
      voterId: string | null
      raw: Buffer | null
      original: string | null
    }[]
  >`
    select 'counted' as kind, kafka_partition as p, kafka_offset::text as o, null as reason, ballot_id::text, election_id, voter_id,
           null::bytea as raw, null as original
    from ballots where kafka_topic = ${topic}
    union all
    select 'rejected', kafka_partition, kafka_offset::text, reason, ballot_id::text, election_id, voter_id, raw, null
    from rejected_ballots where topic = ${topic}
    union all
    select 'duplicate', kafka_partition, kafka_offset::text, null, ballot_id::text, election_id, voter_id, null,
           original_partition || '/' || original_offset || '@' || original_topic
    from duplicate_ballots where topic = ${topic}`
}

describe('every message accounted for exactly once, whatever arrives (fast-check, real PostgreSQL)', () => {
  it('holds for random bytes, random JSON, broken ballots, re-sends, stolen ids, random batches and redeliveries', async () => {
    let runs = 0
    let total = 0
    const seen = { counted: 0, rejected: 0, duplicates: 0, redelivered: 0 }
    const reasons = new Map<string, number>()
    const started = Date.now()

    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 20, maxLength: 200, size: 'max' }),
        fc.array(fc.nat({ max: 2 }), { minLength: 200, maxLength: 200 }), // partition of each message
        fc.array(fc.nat({ max: 3 }), { minLength: 200, maxLength: 200 }), // gap before each offset
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 8 }), // batch sizes
        fc.array(fc.nat({ max: 9 }), { minLength: 1, maxLength: 30 }), // what happens after each batch
        async (specs, partitions, gaps, cuts, redeliveries) => {
          const run = runs++
          const topic = `lprop-${randomUUID().slice(0, 8)}`
          // The last voters of the roll are kept for the regression tests below.
          const voterOf = (i: number) => (run * VOTERS_PER_RUN + i) % (ROLL - RESERVED)

          // The messages, at positions of their own: offsets increase per partition, with gaps.
          const nextOffset = [0, 0, 0]
          const sent: Sent[] = []
          const ballotsSent: Array<Record<string, unknown>> = []
          specs.forEach((s, i) => {
            let value: Buffer | null
            if (s.kind === 'bytes') value = s.bytes
            else if (s.kind === 'fixed') value = s.value === null ? null : Buffer.from(s.value)
            else if (s.kind === 'resend') value = sent.length > 0 ? (sent[s.index % sent.length]?.value ?? null) : Buffer.alloc(0)
            else if (s.kind === 'steal') {
              const victim = ballotsSent.length > 0 ? ballotsSent[s.index % ballotsSent.length] : undefined
              const b = ballot(elections[0] ?? '', `north-${voterOf(s.voter)}`, 'ada', 'north')
              value = Buffer.from(JSON.stringify({ ...b, ...(victim ? { ballotId: victim.ballotId, electionId: victim.electionId } : {}) }))
            } else {
              const region = s.voter % 2 ? 'south' : 'north'
              const voter = s.voter < 0 ? 'stranger' : `${region}-${voterOf(s.voter)}`
              const regionId = s.wrongRegion ? (region === 'north' ? 'south' : 'north') : region
              const b: Record<string, unknown> = {
                ...ballot(elections[s.election] ?? '', voter, s.candidate, regionId, { channel: s.channel }),
              }
              if (s.upper) b.ballotId = String(b.ballotId).toUpperCase()
              if (s.mutate) mutate(b, s.mutate)
              ballotsSent.push(b)
              value = Buffer.from(JSON.stringify(b))
            }
            const partition = partitions[i] ?? 0
            const offset = (nextOffset[partition] ?? 0) + (gaps[i] ?? 0)
            nextOffset[partition] = offset + 1
            sent.push({ partition, offset: String(offset), value })
          })

          // Per partition in log order, cut into batches of random sizes, as a consumer sees them;
          // the partitions' batches interleave.
          const queues = [0, 1, 2].map((p) => {
            const mine = sent.filter((m) => m.partition === p)
            const out: ConsumedMessage[][] = []
            for (let i = 0, c = 0; i < mine.length; c++) {
              const size = cuts[c % cuts.length] ?? 10
              out.push(mine.slice(i, i + size))
              i += size
            }
            return out
          })
          const batches: ConsumedMessage[][] = []
          for (let k = 0; queues.some((q) => q.length > 0); k++) {
            const ready = queues.filter((q) => q.length > 0)
            const q = ready[(redeliveries[k % redeliveries.length] ?? 0) % ready.length]
            const next = q?.shift()
            if (next) batches.push(next)
          }

          const options = {
            beforeRetry: async (err: unknown) => {
              throw err // no transient failure is expected here: let it escape and fail the run
            },
          }
          const account = (messages: ConsumedMessage[]) => accountBatch(sql, { groupId: GROUP, topic, messages }, options)
          const sum = (outs: BatchOutcome[]) => ({
            counted: outs.reduce((n, o) => n + o.counted, 0),
            rejected: outs.reduce((n, o) => n + o.rejected.length, 0),
            duplicates: outs.reduce((n, o) => n + o.duplicates, 0),
            redelivered: outs.reduce((n, o) => n + o.redelivered, 0),
          })

          let accounted = 0
          const done: ConsumedMessage[][] = []
          for (let k = 0; k < batches.length; k++) {
            const batch = batches[k] as ConsumedMessage[]
            const what = redeliveries[k % redeliveries.length] ?? 0
            // Re-fetched from an earlier offset (a rebalance, a seek): the tail of this
            // partition's previous batch comes again in front of the new messages.
            const previous = [...done].reverse().find((b) => b[0]?.partition === batch[0]?.partition)
            const overlap = what === 7 && previous ? previous.slice(-Math.ceil(previous.length / 2)) : []
            // The tally's group commit: the next batch, of another partition, shares this
            // batch's transaction.
            const next = batches[k + 1]
            const joined = what >= 4 && what <= 6 && next && next[0]?.partition !== batch[0]?.partition ? next : []
            const first = sum(await account([...overlap, ...batch, ...joined]))
            expect(first.redelivered).toBe(overlap.length)
            accounted += first.counted + first.rejected + first.duplicates
            seen.counted += first.counted
            seen.rejected += first.rejected
            seen.duplicates += first.duplicates
            seen.redelivered += first.redelivered
            done.push(batch)
            if (joined.length > 0) {
              done.push(joined)
              k++
            }
            // Redelivered whole: this batch again, or an earlier one. Nothing changes.
            if (what >= 8) {
              const again = what === 8 ? batch : (done[(k * 7) % done.length] ?? batch)
              const out = sum(await account(again))
              expect(out).toEqual({ counted: 0, rejected: 0, duplicates: 0, redelivered: again.length })
              seen.redelivered += out.redelivered
            }
          }
          total += sent.length
          expect(accounted).toBe(sent.length)

          // Every position exactly once across the three tables, and nothing else.
          const rows = await outcomesOf(topic)
          const byPosition = new Map<string, (typeof rows)[number]>()
          for (const r of rows) {
            expect(byPosition.has(key(r.p, r.o)), `position ${key(r.p, r.o)} recorded twice`).toBe(false)
            byPosition.set(key(r.p, r.o), r)
          }
          expect(rows.length).toBe(sent.length)
          const counted = new Map(rows.filter((r) => r.kind === 'counted').map((r) => [key(r.p, r.o), r]))

          // What each position became agrees with what the contract makes of its bytes.
          for (const m of sent) {
            const r = byPosition.get(key(m.partition, m.offset))
            expect(r, `position ${key(m.partition, m.offset)} not accounted for`).toBeDefined()
            if (!r) continue
            const d = decodeBallot(m.value)
            if (r.reason) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1)
            if (!d.ok) {
              expect(r).toMatchObject({ kind: 'rejected', reason: d.reason })
            } else if (r.kind === 'counted' || r.kind === 'duplicate') {
              expect([r.ballotId, r.electionId, r.voterId]).toEqual([d.ballot.ballotId, d.ballot.electionId, d.ballot.voterId])
            } else {
              expect(r.reason).not.toMatch(/^(malformed|invalid_schema|unprocessable)$/)
              expect(r.ballotId).toBe(d.ballot.ballotId)
            }
            if (r.kind === 'rejected') expect(Buffer.compare(r.raw ?? Buffer.alloc(0), m.value ?? Buffer.alloc(0))).toBe(0)
            if (r.kind === 'duplicate') {
              // The original it names is a counted ballot of this topic with the same identity:
              // never a message that was rejected (see the regression tests below).
              const [pos, origTopic] = (r.original ?? '').split('@')
              expect(origTopic).toBe(topic)
              const original = byPosition.get(pos ?? '')
              expect(original, `duplicate at ${key(r.p, r.o)} names ${r.original}`).toBeDefined()
              expect([original?.ballotId, original?.electionId, original?.voterId]).toEqual([r.ballotId, r.electionId, r.voterId])
              expect(original?.kind, `duplicate at ${key(r.p, r.o)} names a ${original?.kind} message`).toBe('counted')
            }
          }
          // A ballot that repeats a counted one is a duplicate, never a duplicate_voter / _ballot_id.
          const identities = new Set([...counted.values()].map((c) => `${c.ballotId}|${c.electionId}|${c.voterId}`))
          for (const r of rows) {
            if (r.reason === 'duplicate_voter' || r.reason === 'duplicate_ballot_id')
              expect(identities.has(`${r.ballotId}|${r.electionId}|${r.voterId}`), `${r.reason} at ${key(r.p, r.o)}`).toBe(false)
          }

          const ledger = await messageLedger(sql, { groupId: GROUP, topic })
          expect(ledger.reduce((n, r) => n + Number(r.messages), 0)).toBe(sent.length)
          for (const r of ledger) expect(r, `partition ${r.partition}`).toMatchObject({ balanced: true })

          // The running tallies equal a recount of the ballots.
          const [drift] = await sql<{ n: number }[]>`
            select count(*)::int as n from (select election_id, candidate_id, count(*) as n from ballots
              where election_id = any(${elections}) group by 1, 2) b
            full join (select * from tallies where election_id = any(${elections})) t using (election_id, candidate_id)
            where b.n is distinct from t.votes`
          expect(drift?.n).toBe(0)

          // The running totals (what progress reads) equal the raw rows, per election.
          const [totalsDrift] = await sql<{ n: number }[]>`
            select count(*)::int as n from (
              select election_id, count(*) as counted, 0 as rejected from ballots where election_id = any(${elections}) group by 1
              union all
              select election_id, 0, count(*) from rejected_ballots where election_id = any(${elections}) group by 1
            ) raw full join (select election_id, sum(counted) as counted, sum(rejected) as rejected from election_totals
                             where election_id = any(${elections}) group by 1) t using (election_id)
            group by election_id, t.counted, t.rejected
            having sum(raw.counted) is distinct from t.counted or sum(raw.rejected) is distinct from t.rejected`
          expect(totalsDrift?.n ?? 0).toBe(0)
        },
      ),
      { numRuns: 200 },
    )

    console.log(
      `ledger property: ${runs} runs, ${total} messages in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${seen.counted} counted, ${seen.rejected} rejected, ${seen.duplicates} duplicates, ${seen.redelivered} redelivered); ` +
        `reasons: ${JSON.stringify(Object.fromEntries(reasons))}`,
    )
    // Not vacuous: thousands of messages, and each outcome happened many times.
    expect(total).toBeGreaterThan(3000)
    for (const [outcome, n] of Object.entries(seen)) expect(n, outcome).toBeGreaterThan(50)
    for (const reason of [
      'malformed',
      'invalid_schema',
      'duplicate_voter',
      'cast_before_open',
      'unknown_candidate',
      'voter_not_registered',
    ])
      expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(0)
  }, 120_000)
})

/**
 * Regression (found by the property above): within one batch, a message with the identity
 * (ballot id, election, voter) of an earlier message of the same batch was recorded as a
 * duplicate of it before the earlier one was classified. When the earlier one was then
 * rejected (wrong region, unknown candidate, castAt in the future...), a valid ballot was
 * lost as the "duplicate" of a message never counted, and the outcome depended on where the
 * consumer cut its batches. The database now decides, by position, which one is inserted.
 */
describe('a ballot whose identity an earlier message of the same batch had', () => {
  const beforeRetry = async (err: unknown) => {
    throw err
  }
  async function outcome(topic: string) {
    return sql<{ kind: string; o: string; reason: string | null }[]>`
      select 'counted' as kind, kafka_offset::text as o, null as reason from ballots where kafka_topic = ${topic}
      union all select 'rejected', kafka_offset::text, reason from rejected_ballots where topic = ${topic}
      union all select 'duplicate', kafka_offset::text, null from duplicate_ballots where topic = ${topic}
      order by o`
  }

  it('is counted when it arrives in a batch of its own (the reference)', async () => {
    const topic = `lprop-ref-${randomUUID().slice(0, 8)}`
    const id = randomUUID()
    const wrong = ballot(elections[0] ?? '', `north-${ROLL - 1}`, 'ada', 'south', { ballotId: id })
    const right = { ...wrong, regionId: 'north' }
    for (const [i, b] of [wrong, right].entries())
      await accountBatch(
        sql,
        { groupId: GROUP, topic, messages: [{ partition: 0, offset: String(i), value: Buffer.from(JSON.stringify(b)) }] },
        { beforeRetry },
      )
    expect(await outcome(topic)).toEqual([
      { kind: 'rejected', o: '0', reason: 'wrong_region' },
      { kind: 'counted', o: '1', reason: null },
    ])
  })

  it('is counted when it arrives in the same batch as a rejected message with its identity', async () => {
    const topic = `lprop-same-batch-${randomUUID().slice(0, 8)}`
    const id = randomUUID()
    // The same voter and ballot id: first with the wrong region (rejected), then corrected.
    const wrong = ballot(elections[1] ?? '', `north-${ROLL - 1}`, 'ada', 'south', { ballotId: id })
    const right = { ...wrong, regionId: 'north' }
    const messages = [wrong, right].map((b, i) => ({ partition: 0, offset: String(i), value: Buffer.from(JSON.stringify(b)) }))
    await accountBatch(sql, { groupId: GROUP, topic, messages }, { beforeRetry })
    // Before the fix: [rejected wrong_region, duplicate (naming offset 0, which was rejected)]: nothing counted.
    expect(await outcome(topic)).toEqual([
      { kind: 'rejected', o: '0', reason: 'wrong_region' },
      { kind: 'counted', o: '1', reason: null },
    ])
  })

  it('an exact re-send of a rejected ballot in the same batch is rejected too, not a duplicate of a rejection', async () => {
    const topic = `lprop-same-batch-${randomUUID().slice(0, 8)}`
    const bytes = Buffer.from(JSON.stringify(ballot(elections[0] ?? '', `south-${ROLL - 1}`, 'zorro', 'south')))
    const messages = [0, 1].map((i) => ({ partition: 0, offset: String(i), value: bytes }))
    await accountBatch(sql, { groupId: GROUP, topic, messages }, { beforeRetry })
    // In two batches: two unknown_candidate rejections; in one batch it must be the same.
    // Before the fix the second was a duplicate_ballots row naming the rejection at offset 0.
    expect(await outcome(topic)).toEqual([
      { kind: 'rejected', o: '0', reason: 'unknown_candidate' },
      { kind: 'rejected', o: '1', reason: 'unknown_candidate' },
    ])
  })
})
