import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBallot } from '../domain/ballot.ts'
import { countBatch } from '../lib/counting/count-batch.ts'
import { addVoters, createElection, setElectionStatus } from '../lib/db/elections.ts'
import { waitUntil } from '../lib/wait.ts'
import { LOCAL_ADMIN_TOKEN } from '../services/api/config.ts'
import { ballot, openTestElection } from './fixtures/elections.ts'
import { testSql } from './helpers.ts'
import { startApi } from './processes.ts'
import { followSse } from './sse.ts'

/** The real API process with small limits, so each can be reached from a test. */
const sql = testSql()
let api: Awaited<ReturnType<typeof startApi>>
const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, 'content-type': 'application/json' }

beforeAll(async () => {
  api = await startApi({
    port: 19_720,
    taskQueue: 'unused',
    name: 'api-limits',
    env: {
      API_TRUST_PROXY: 'true',
      API_SSE_MAX_CONNECTIONS: '3',
      API_SSE_MAX_PER_CLIENT: '2',
      API_SSE_STALLED_CLIENT_MS: '1500',
      API_IDLE_TIMEOUT_SECONDS: '5',
      API_READS_PER_SECOND: '1',
      API_READS_BURST: '5',
      API_CASTS_PER_SECOND: '0.5',
      API_CASTS_BURST: '2',
      API_LOCK_TIMEOUT_MS: '500',
    },
  })
})
afterAll(async () => {
  await api?.stop()
  await sql.end({ timeout: 5 })
})

/** Each test speaks from addresses of its own (the API trusts X-Forwarded-For here). */
let nextAddress = 1
const from = () => ({ 'x-forwarded-for': `198.51.100.${nextAddress++}` })

async function expectProblem(res: Response, status: number, detail?: RegExp) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = await res.json()
  if (detail) expect(JSON.stringify(body)).toMatch(detail)
  return body
}

describe('abuse limits of the real API process', () => {
  it('answers 503 with Retry-After when a lock is held too long, instead of waiting without limit, and takes the request once it is free', async () => {
    const e = { id: `lock-${Date.now().toString(36)}` }
    await createElection(sql, {
      id: e.id,
      name: 'Lock test',
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'bob', name: 'Bob' },
      ],
      regions: [{ id: 'north', name: 'North', state: 'N', registeredVoters: 10 }],
    })
    const register = () =>
      fetch(`${api.url}/elections/${e.id}/voters`, {
        method: 'POST',
        headers: { ...admin, ...from() },
        body: JSON.stringify({ voters: [{ id: 'late-voter', regionId: 'north' }] }),
      })
    // A process holding the election's row (a frozen one would hold it for ever).
    const held = await sql.reserve()
    await held`begin`
    await held`select id from elections where id = ${e.id} for update`
    try {
      const started = Date.now()
      const res = await register()
      const body = await expectProblem(res, 503, /lock was held too long/)
      expect(res.headers.get('retry-after')).toBe('1')
      expect(body.title).toBe('unavailable')
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      await held`rollback`
      held.release()
    }
    expect((await register()).status).toBeLessThan(300)
  })

  it('caps result streams per client and in total, with Retry-After, and frees a slot when a stream ends', async () => {
    const e = await openTestElection(sql)
    const url = `${api.url}/elections/${e.id}/results/stream`
    const a = from()
    const b = from()
    const open = async (headers: Record<string, string>) => {
      const controller = new AbortController()
      const res = await fetch(url, { headers, signal: controller.signal })
      return { res, close: () => controller.abort() }
    }
    const a1 = await open(a)
    const a2 = await open(a)
    expect([a1.res.status, a2.res.status]).toEqual([200, 200])
    const a3 = await open(a)
    expect(a3.res.status).toBe(429)
    expect(a3.res.headers.get('retry-after')).toBeTruthy()
    const b1 = await open(b)
    expect(b1.res.status).toBe(200)
    const c1 = await open(from())
    expect(c1.res.status).toBe(503)
    expect(c1.res.headers.get('retry-after')).toBeTruthy()
    a1.close()
    await new Promise((r) => setTimeout(r, 300))
    const again = await open(a)
    expect(again.res.status).toBe(200)
    for (const s of [a2, b1, again]) s.close()
  })

  it('drops a stream whose client stops reading, instead of buffering for it without bound', async () => {
    // Big snapshots (480 regions with long names: still listed in full, about 200 kB)
    // that change often fill the socket's buffers quickly.
    const id = `stall-${Date.now().toString(36)}`
    const regions = Array.from({ length: 480 }, (_, i) => ({
      id: `r${i}`,
      name: `Region ${i} ${'of a rather long name '.repeat(5)}`,
      state: 'S',
      registeredVoters: 10,
    }))
    await createElection(sql, {
      id,
      name: 'Stalled reader',
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'bob', name: 'Bob' },
      ],
      regions,
    })
    await addVoters(
      sql,
      id,
      Array.from({ length: 60 }, (_, i) => ({ id: `v${i}`, regionId: 'r0' })),
    )
    await setElectionStatus(sql, id, 'open')
    const address = from()['x-forwarded-for']
    // A client that asks for the stream and never reads a byte of it.
    const stalled = connect(Number(new URL(api.url).port), '127.0.0.1')
    stalled.pause()
    stalled.write(`GET /elections/${id}/results/stream HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${address}\r\n\r\n`)
    const open = async () => {
      const controller = new AbortController()
      const res = await fetch(`${api.url}/elections/${id}/results/stream`, {
        headers: { 'x-forwarded-for': address! },
        signal: controller.signal,
      })
      controller.abort()
      return res.status
    }
    await new Promise((r) => setTimeout(r, 300))
    const held = new AbortController()
    const second = await fetch(`${api.url}/elections/${id}/results/stream`, {
      headers: { 'x-forwarded-for': address! },
      signal: held.signal,
    })
    expect(second.status).toBe(200) // the second of two slots
    expect(await open()).toBe(429) // both taken: the stalled one holds its slot so far
    // Changes arrive; each is a snapshot of a few hundred kilobytes for the stalled client.
    for (let i = 0; i < 60; i++) {
      await countBatch(sql, {
        groupId: 'test',
        topic: `stall-${id}`,
        messages: [{ partition: 0, offset: String(i), value: encodeBallot(ballot(id, `v${i}`, i % 2 ? 'ada' : 'bob', 'r0')) }],
      })
      await new Promise((r) => setTimeout(r, 220))
    }
    // Its slot was given back: a stream from the same address is accepted again.
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push(await open())
    expect(statuses).toContain(200)
    held.abort()
    stalled.destroy()
  }, 60_000)

  it('closes a connection that stays silent past the idle timeout', async () => {
    const started = Date.now()
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = connect(new URL(api.url).port as unknown as number, '127.0.0.1')
      socket.on('close', () => resolve(Date.now() - started))
      socket.on('error', reject)
      setTimeout(() => {
        socket.destroy()
        reject(new Error('the idle connection was never closed'))
      }, 20_000)
    })
    expect(closedAfter).toBeGreaterThan(4_000)
    expect(closedAfter).toBeLessThan(15_000)
  }, 30_000)

  it('rate-limits public reads per address with 429 and Retry-After', async () => {
    const headers = from()
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${api.url}/elections/no-such-election/results`, { headers })).status)
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(404))
    expect(statuses.slice(5)).toEqual(Array(3).fill(429))
    const limited = await fetch(`${api.url}/elections/x/results`, { headers })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    // Another address is not affected.
    expect((await fetch(`${api.url}/elections/no-such-election/results`, { headers: from() })).status).toBe(404)
  })

  it('counts HEAD as a read, since it runs the same handler', async () => {
    const headers = from()
    const statuses: number[] = []
    for (let i = 0; i < 7; i++)
      statuses.push((await fetch(`${api.url}/elections/no-such-election/results`, { method: 'HEAD', headers })).status)
    expect(statuses).toEqual([...Array(5).fill(404), 429, 429])
  })

  it('keys limits by the /64 of an IPv6 client: one host cannot take every slot by changing its address', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 7; i++)
      statuses.push(
        (await fetch(`${api.url}/elections/no-such-election/results`, { headers: { 'x-forwarded-for': `2001:db8:7:7::${i + 1}` } })).status,
      )
    expect(statuses).toEqual([...Array(5).fill(404), 429, 429])
    // The next /64 is another client.
    expect(
      (await fetch(`${api.url}/elections/no-such-election/results`, { headers: { 'x-forwarded-for': '2001:db8:7:8::1' } })).status,
    ).toBe(404)
  })

  it('refuses a stream over its caps before reading anything: a refused client costs no snapshot', async () => {
    const e = await openTestElection(sql)
    const headers = from()
    const controllers = [new AbortController(), new AbortController()]
    const open = await Promise.all(
      controllers.map((c) => fetch(`${api.url}/elections/${e.id}/results/stream`, { headers, signal: c.signal })),
    )
    expect(open.map((r) => r.status)).toEqual([200, 200])
    // Over this client's cap, for an election that does not exist: refused (429), not looked up (404).
    const refused = await fetch(`${api.url}/elections/no-such-election/results/stream`, { headers })
    expect(refused.status).toBe(429)
    for (const c of controllers) c.abort()
  })

  it('gives a follower who joins after the last change that change, not an older document', async () => {
    const e = await openTestElection(sql)
    const url = `${api.url}/elections/${e.id}/results/stream`
    // Follower A keeps the election's feed alive and reads every version it is sent.
    const a = new AbortController()
    const resA = await fetch(url, { headers: from(), signal: a.signal })
    const seen: number[] = []
    const pump = (async () => {
      const reader = resA.body?.getReader()
      const decoder = new TextDecoder()
      try {
        for (;;) {
          const chunk = await reader?.read()
          if (!chunk || chunk.done) return
          for (const m of decoder.decode(chunk.value, { stream: true }).matchAll(/^id: (\d+)$/gm)) seen.push(Number(m[1]))
        }
      } catch {
        // aborted
      }
    })()
    // A reader caches the document at this version.
    const before = await (await fetch(`${api.url}/elections/${e.id}/results`, { headers: from() })).json()
    await countBatch(sql, {
      groupId: 'late-follower-test',
      topic: `late-follower-${e.id}`,
      messages: [{ partition: 0, offset: '0', value: encodeBallot(ballot(e.id, 'north-0', 'ada', 'north')) }],
    })
    expect(await waitUntil(async () => seen.some((v) => v > before.version), 5_000, 50)).toBe(true)
    const newest = Math.max(...seen)
    // B joins with no read in between: its first event is the newest version, which the feed will not send again.
    const b = await followSse<{ version: number }>(url, (d) => d.version >= newest, 3_000)
    expect(b.last.version).toBe(newest)
    expect(b.events).toBe(1)
    a.abort()
    await pump
  })

  it('answers HEAD on a stream with its headers, holding no slot', async () => {
    const e = await openTestElection(sql)
    const headers = from()
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${api.url}/elections/${e.id}/results/stream`, { method: 'HEAD', headers })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    }
    // The per-client cap is 2: had the HEADs held slots, this stream would be refused.
    const c = new AbortController()
    expect((await fetch(`${api.url}/elections/${e.id}/results/stream`, { headers, signal: c.signal })).status).toBe(200)
    c.abort()
  })

  it('rate-limits casting per address', async () => {
    const headers = { ...from(), authorization: 'Bearer vs_nobody', 'content-type': 'application/json' }
    const cast = () => fetch(`${api.url}/elections/no-such/ballots`, { method: 'POST', headers, body: '{"candidateId":"ada"}' })
    const statuses = [(await cast()).status, (await cast()).status, (await cast()).status]
    expect(statuses).toEqual([404, 404, 429])
  })

  it('answers a chunked body over the limit with 413', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(5_000_000) })
    const res = await fetch(`${api.url}/elections`, {
      method: 'POST',
      headers: { ...admin, ...from() },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(body))
          c.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    await expectProblem(res, 413)
  })
})

describe('what the real API process exposes', () => {
  it('serves /metrics on its own loopback port, not on the public one', async () => {
    expect((await fetch(`${api.url}/metrics`, { headers: from() })).status).toBe(404)
    const metrics = await fetch(`http://127.0.0.1:${Number(new URL(api.url).port) + 1000}/metrics`)
    const text = await metrics.text()
    expect(text).toMatch(/votestream_http_requests_total/)
    expect(text).toMatch(/votestream_race_calls\{status="retracted"\} \d+/)
  })
})

describe('rules the API enforces, against the real process', () => {
  const create = (body: unknown) =>
    fetch(`${api.url}/elections`, { method: 'POST', headers: { ...admin, ...from() }, body: JSON.stringify(body) })
  const election = (over: Record<string, unknown> = {}) => ({
    name: 'Rules',
    start: false,
    candidates: [
      { id: 'ada', name: 'Ada' },
      { id: 'bob', name: 'Bob' },
    ],
    regions: [{ id: 'north', name: 'North', state: 'N', registeredVoters: 10 }],
    ...over,
  })

  it('refuses control characters in names, repeated ids and ids like "..", naming the field, and writes nothing', async () => {
    const [before] = await sql<{ n: number }[]>`select count(*)::int as n from elections`
    await expectProblem(await create(election({ name: 'bad\u0000name' })), 400, /"name"/)
    await expectProblem(
      await create(
        election({
          candidates: [
            { id: 'ada', name: 'A\u0007' },
            { id: 'bob', name: 'B' },
          ],
        }),
      ),
      400,
      /candidates\.0\.name|candidates","?0/,
    )
    await expectProblem(
      await create(
        election({
          candidates: [
            { id: 'ada', name: 'A' },
            { id: 'ada', name: 'B' },
          ],
        }),
      ),
      400,
      /ada appears twice/,
    )
    await expectProblem(
      await create(election({ regions: [1, 2].map(() => ({ id: 'r', name: 'R', state: 'S', registeredVoters: 1 })) })),
      400,
      /r appears twice/,
    )
    await expectProblem(await create(election({ id: '..' })), 400, /id/)
    const [after] = await sql<{ n: number }[]>`select count(*)::int as n from elections`
    expect(after?.n).toBe(before?.n)
  })

  it('registers voters only before the polls close, never past the declared registered voters, and refuses repeated ids', async () => {
    const e = await openTestElection(sql, { regions: { north: 0 } })
    await sql`update regions set registered_voters = 2 where election_id = ${e.id}`
    const register = (voters: Array<{ id: string; regionId: string }>) =>
      fetch(`${api.url}/elections/${e.id}/voters`, { method: 'POST', headers: { ...admin, ...from() }, body: JSON.stringify({ voters }) })
    await expectProblem(
      await register([
        { id: 'v1', regionId: 'north' },
        { id: 'v1', regionId: 'north' },
      ]),
      400,
      /v1 appears twice/,
    )
    expect((await register([{ id: 'v1', regionId: 'north' }])).status).toBe(201)
    await expectProblem(await register([{ id: 'v1', regionId: 'north' }]), 409, /already registered/)
    // Three on a roll of two declared would make turnout over 100 % possible: refused whole.
    await expectProblem(
      await register([
        { id: 'v2', regionId: 'north' },
        { id: 'v3', regionId: 'north' },
      ]),
      409,
      /exceed the registered voters declared for north \(2 declared, 1 registered, 2 more asked\)/,
    )
    await sql`update elections set status = 'closing' where id = ${e.id}`
    await expectProblem(await register([{ id: 'v2', regionId: 'north' }]), 409, /registration closed/)
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from voters where election_id = ${e.id}`
    expect(row?.n).toBe(1)
  })

  it('bounds simulation rates to what the pipeline can do', async () => {
    await expectProblem(await create({ name: 'slow', start: false, simulation: { voters: 100, ratePerSecond: 0.5 } }), 400, /ratePerSecond/)
    await expectProblem(
      await create({ name: 'fast', start: false, simulation: { voters: 100, ratePerSecond: 5_000_000 } }),
      400,
      /ratePerSecond/,
    )
  })
})
