import { createHash } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { countBatch } from '../lib/counting/count-batch.ts'
import { purgeRejectedRaw } from '../lib/db/rejected-raw.ts'
import { openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

/** Rejected messages' raw bytes are kept while they are evidence, then only their hash and size (issue 23). */
const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe("rejected messages' raw bytes", () => {
  it('give way to their SHA-256 and size once the election was certified longer ago than the retention, and not before', async () => {
    const old = await openTestElection(sql)
    const recent = await openTestElection(sql)
    const topic = `raw-${old.id}`
    const junk = (i: number, electionHeader: string | undefined) => ({
      partition: 0,
      offset: String(i),
      value: Buffer.from(`not a ballot #${i} ${'x'.repeat(i * 100)}`),
      electionHeader,
    })
    const messages = [junk(0, old.id), junk(1, old.id), junk(2, recent.id), junk(3, undefined)]
    await countBatch(sql, { groupId: 'raw', topic, messages })
    await sql`update elections set certified_at = now() - interval '31 days' where id = ${old.id}`
    await sql`update elections set certified_at = now() - interval '29 days' where id = ${recent.id}`
    // The message of no known election counts from when it was rejected.
    await sql`update rejected_ballots set rejected_at = now() - interval '31 days' where topic = ${topic} and kafka_offset = 3`

    while ((await purgeRejectedRaw(sql, { keepDays: 30, limit: 1000 })) === 1000);

    const rows = await sql<{ offset: number; raw: Buffer; rawSha256: Buffer | null; rawBytes: number | null; purged: boolean }[]>`
      select kafka_offset::int as offset, raw, raw_sha256, raw_bytes, raw_purged_at is not null as purged
      from rejected_ballots where topic = ${topic} order by kafka_offset`
    expect(rows.map((r) => r.purged)).toEqual([true, true, false, true])
    for (const r of rows) {
      const original = messages[r.offset]?.value as Buffer
      if (r.purged) {
        expect(r.raw.length).toBe(0)
        expect(r.rawSha256?.toString('hex')).toBe(sha256(original))
        expect(r.rawBytes).toBe(original.length)
      } else {
        expect(r.raw.equals(original)).toBe(true)
      }
    }
    // Only the recently certified election's message still holds its bytes.
    const [again] = await sql<
      { n: number }[]
    >`select count(*)::int as n from rejected_ballots where topic = ${topic} and raw_purged_at is null`
    expect(again?.n).toBe(1)
  })
})
