import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApiHarness } from './api-harness.ts'

/**
 * The authorization matrix, generated from the OpenAPI document: every route that names a
 * security scheme, called with no token, a wrong token, and the other kind of credential
 * (a voter's on an admin route, the admin's on the cast route). Each must answer 401, as
 * documented, and write nothing.
 */
let h: Awaited<ReturnType<typeof startApiHarness>>
let electionId: string
let voterToken: string

beforeAll(async () => {
  h = await startApiHarness()
  electionId = `authz-${Math.random().toString(36).slice(2, 10)}`
  const created = await h.request('/elections', {
    method: 'POST',
    headers: h.admin,
    body: JSON.stringify({
      id: electionId,
      name: 'Authorization matrix',
      start: false,
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'bob', name: 'Bob' },
      ],
      regions: [{ id: 'north', name: 'North', state: 'N', registeredVoters: 5 }],
    }),
  })
  expect(created.status).toBe(201)
  const reg = await h.request(`/elections/${electionId}/voters`, {
    method: 'POST',
    headers: h.admin,
    body: JSON.stringify({ voters: [{ id: 'v1', regionId: 'north' }] }),
  })
  voterToken = ((await reg.json()) as { voters: Array<{ token: string }> }).voters[0]!.token
})
afterAll(() => h?.close())

async function written() {
  const [row] = await h.sql<Record<string, string>[]>`
    select (select count(*) from elections)::text as elections, (select count(*) from voters)::text as voters,
           (select count(*) from cast_receipts)::text as receipts, (select count(*) from ballot_outbox)::text as outbox,
           (select status from elections where id = ${electionId}) as status`
  return row
}

describe('the authorization matrix from the OpenAPI document', () => {
  it('answers 401 to every protected route called with the wrong credential, as documented, and writes nothing', async () => {
    const doc = (await (await h.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>>; responses: Record<string, unknown> }>>
    }
    const before = await written()
    const cells: string[] = []
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const schemes = (op.security ?? []).flatMap((s) => Object.keys(s))
        if (schemes.length === 0) continue
        expect(Object.keys(op.responses), `${method} ${path} documents 401`).toContain('401')
        const url = path.replace('{id}', electionId)
        const credentials = schemes.includes('voter')
          ? { none: undefined, wrong: 'vs_not-a-real-token', 'the admin token': h.admin.authorization.slice('Bearer '.length) }
          : { none: undefined, wrong: 'not-the-admin-token-at-all', "a voter's token": voterToken }
        for (const [name, token] of Object.entries(credentials)) {
          const res = await h.request(url, {
            method: method.toUpperCase(),
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: method === 'get' ? undefined : JSON.stringify(path.endsWith('/ballots') ? { candidateId: 'ada' } : {}),
          })
          expect(res.status, `${method.toUpperCase()} ${path} with ${name}`).toBe(401)
          expect(res.headers.get('content-type')).toMatch(/problem\+json/)
          cells.push(`${method} ${path} ${name}`)
        }
      }
    }
    expect(cells.length).toBeGreaterThanOrEqual(8 * 3)
    expect(await written()).toEqual(before)
  })
})
