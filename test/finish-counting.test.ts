import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { type BatchOutcome, type ConsumedMessage, countBatch, type Rejection } from '../lib/counting/count-batch.ts'
import { messageLedger } from '../lib/db/counting.ts'
import { setElectionStatus } from '../lib/db/elections.ts'
import { storeCloseMarks } from '../lib/db/polls.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'

/**
 * Finishing the count (closing → closed) against a batch in flight: a ballot is either
 * counted before the election leaves `closing`, or rejected; never counted after. The
 * status change and the counting transaction meet on the election's row (`for update`
 * against `for share`, see lockPartitions), so whichever takes it first makes the other wait.
 */
const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

const GROUP = 'finish-counting'

/** A topic of the test's own (just a text column here), with offsets handed out in order. */
function topicOfItsOwn() {
  const topic = `finish-${randomUUID().slice(0, 8)}`
  let next = 0
  const at = (values: Array<Buffer | string | null>, partition = 0): ConsumedMessage[] =>
    values.map((v) => ({ partition, offset: String(next++), value: typeof v === 'string' ? Buffer.from(v) : v }))
  return { topic, at }
}

/** A promise that the test resolves, and one that tells when the batch is waiting on it. */
function gate() {
  let enter: () => void = () => {}
  let release: () => void = () => {}
  const entered = new Promise<void>((r) => {
    enter = r
  })
  const released = new Promise<void>((r) => {
    release = r
  })
  const seen: Rejection[][] = []
  const beforeCommit = async (rejections: Rejection[]) => {
    seen.push(rejections)
    enter()
    await released
  }
  return { entered, release, beforeCommit, seen }
}

/** Resolves to true if `p` settles within `ms`, false otherwise (without cancelling it). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false
  void p.then(
    () => {
      settled = true
    },
    () => {
      settled = true
    },
  )
  await new Promise((r) => setTimeout(r, ms))
  return settled
}

async function versions(electionId: string) {
  const [row] = await sql<{ counted: string | null; status: string; version: string }[]>`
    select (select max(version)::text from tally_counts where election_id = ${electionId}) as counted,
           status, version::text from elections where id = ${electionId}`
  return row
}

async function countedBallots(electionId: string) {
  const rows = await sql<{ ballotId: string }[]>`select ballot_id::text from ballots where election_id = ${electionId} order by 1`
  return rows.map((r) => r.ballotId)
}

async function expectBalanced(topic: string, messages: number) {
  const rows = await messageLedger(sql, { groupId: GROUP, topic })
  expect(rows.reduce((s, r) => s + Number(r.messages), 0)).toBe(messages)
  for (const r of rows) expect(r, `partition ${r.partition}`).toMatchObject({ balanced: true })
}

async function expectNoDrift(electionId: string) {
  const [row] = await sql<{ drift: number }[]>`
    select count(*)::int as drift from (
      select election_id, candidate_id, count(*) as n from ballots where election_id = ${electionId} group by 1, 2
    ) b full join (select * from tallies where election_id = ${electionId}) t using (election_id, candidate_id)
    where b.n is distinct from t.votes`
  expect(row?.drift).toBe(0)
}

describe('finishing the count while a ballot is in flight', () => {
  it('waits for the batch in flight: its ballot is counted while closing, `closed` comes after, and nothing counts later', async () => {
    const { topic, at } = topicOfItsOwn()
    const e = await openTestElection(sql)
    await setElectionStatus(sql, e.id, 'closing')
    // The polls closed with the partition's end at 100: messages below it still count.
    await sql.begin((tx) => storeCloseMarks(tx, e.id, topic, { '0': '100' }, null))

    const inFlight = ballot(e.id, 'north-0', 'ada', 'north')
    const g = gate()
    // One invalid message, attributed to the election, so that beforeCommit runs (it runs
    // only when the batch has a rejection) and holds the transaction open after counting.
    const first = at([encodeBallot(inFlight), `{"v":1,"electionId":"${e.id}"}`])
    const batch: Promise<BatchOutcome> = countBatch(sql, { groupId: GROUP, topic, messages: first }, g.beforeCommit)
    await g.entered
    expect(g.seen[0]?.map((r) => r.reason)).toEqual(['invalid_schema'])

    const finishing = setElectionStatus(sql, e.id, 'closed')
    // The status change waits for the batch in flight, however long it holds.
    expect(await settlesWithin(finishing, 500)).toBe(false)
    expect((await versions(e.id))?.status).toBe('closing')
    // Nothing of the batch is visible before it commits.
    expect(await countedBallots(e.id)).toEqual([])

    g.release()
    const out = await batch
    const closedRow = await finishing
    expect(closedRow.status).toBe('closed')
    expect(out.counted).toBe(1)
    expect(out.rejected.map((r) => r.reason)).toEqual(['invalid_schema'])
    expect(await countedBallots(e.id)).toEqual([inFlight.ballotId])

    // Counted, then closed: the status change took its version after the batch's.
    const v = await versions(e.id)
    expect(v?.status).toBe('closed')
    expect(v?.counted).not.toBeNull()
    expect(BigInt(v?.version ?? '0')).toBeGreaterThan(BigInt(v?.counted ?? '0'))
    expect(BigInt(closedRow.version)).toBe(BigInt(v?.version ?? '-1'))

    // A new batch for the election, below the close mark and otherwise valid: too late.
    const late = ballot(e.id, 'north-1', 'ada', 'north')
    const after = await countBatch(sql, { groupId: GROUP, topic, messages: at([encodeBallot(late)]) })
    expect(after.counted).toBe(0)
    expect(after.rejected.map((r) => [r.ballotId, r.reason])).toEqual([[late.ballotId, 'election_not_open']])
    expect(await countedBallots(e.id)).toEqual([inFlight.ballotId])
    expect((await versions(e.id))?.counted).toBe(v?.counted) // the counts did not move

    await expectBalanced(topic, 3)
    await expectNoDrift(e.id)
  })

  it('holds a batch back while the status change is in flight, and then rejects its ballot', async () => {
    const { topic, at } = topicOfItsOwn()
    const e = await openTestElection(sql)
    await setElectionStatus(sql, e.id, 'closing')
    await sql.begin((tx) => storeCloseMarks(tx, e.id, topic, { '0': '100' }, null))

    // `closed` set in a transaction the test keeps open.
    let releaseStatus: () => void = () => {}
    const statusHeld = new Promise<void>((r) => {
      releaseStatus = r
    })
    let statusSet: () => void = () => {}
    const statusWritten = new Promise<void>((r) => {
      statusSet = r
    })
    const finishing = sql.begin(async (tx) => {
      await setElectionStatus(tx, e.id, 'closed')
      statusSet()
      await statusHeld
    })
    await statusWritten

    const racing = ballot(e.id, 'north-0', 'ada', 'north')
    const batch = countBatch(sql, { groupId: GROUP, topic, messages: at([encodeBallot(racing), 'not json']) })
    // The batch waits on the election's row: it neither counts nor rejects while the change is open.
    expect(await settlesWithin(batch, 500)).toBe(false)
    releaseStatus()
    await finishing
    const out = await batch
    // It read the status after the change committed: `closed`, so the ballot is rejected.
    expect(out.counted).toBe(0)
    expect(out.rejected.map((r) => r.reason).sort()).toEqual(['election_not_open', 'malformed'])
    expect(await countedBallots(e.id)).toEqual([])
    expect((await versions(e.id))?.counted).toBeNull()
    await expectBalanced(topic, 2)
    await expectNoDrift(e.id)
  })

  it('closing the polls also waits for a batch in flight, which counts; counting then follows the close marks', async () => {
    const { topic, at } = topicOfItsOwn()
    const e = await openTestElection(sql)
    const g = gate()
    const inFlight = ballot(e.id, 'south-0', 'grace', 'south')
    const first = at([encodeBallot(inFlight), null])
    const batch = countBatch(sql, { groupId: GROUP, topic, messages: first }, g.beforeCommit)
    await g.entered
    const closing = sql.begin(async (tx) => {
      await setElectionStatus(tx, e.id, 'closing')
      // The end of the partition when the polls closed: the two messages above.
      await storeCloseMarks(tx, e.id, topic, { '0': '2' }, null)
    })
    expect(await settlesWithin(closing, 500)).toBe(false)
    g.release()
    expect((await batch).counted).toBe(1)
    await closing

    // After the mark, a valid ballot (castAt before the close, as a producer may claim) is refused.
    const beyond = ballot(e.id, 'south-1', 'grace', 'south', { castAt: new Date(Date.now() - 60_000).toISOString() })
    const out = await countBatch(sql, { groupId: GROUP, topic, messages: at([encodeBallot(beyond)]) })
    expect(out.rejected.map((r) => [r.ballotId, r.reason])).toEqual([[beyond.ballotId, 'election_not_open']])
    expect(await countedBallots(e.id)).toEqual([inFlight.ballotId])
    await setElectionStatus(sql, e.id, 'closed')
    await expectBalanced(topic, 3)
    await expectNoDrift(e.id)
  })
})
