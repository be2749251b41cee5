import { describe, expect, it } from 'vitest'
import { decodeBallot, encodeBallot } from './ballot.ts'

const ballot = {
  v: 1 as const,
  ballotId: '3b241101-e2bb-4255-8caf-4136c566a962',
  electionId: 'e1',
  voterId: 'v1',
  candidateId: 'ada',
  regionId: 'north',
  channel: 'mail' as const,
  castAt: '2026-11-24T12:00:00.000Z',
}

describe('the ballot contract', () => {
  it('round-trips a valid ballot', () => {
    expect(decodeBallot(encodeBallot(ballot))).toEqual({ ok: true, ballot })
  })
  it('calls bytes that are not JSON malformed', () => {
    expect(decodeBallot(Buffer.from('{"v":1,'))).toMatchObject({ ok: false, reason: 'malformed' })
    expect(decodeBallot(null)).toMatchObject({ ok: false, reason: 'malformed' })
  })
  it('names the bad fields of JSON that is not a ballot, and keeps its ids', () => {
    const bad = decodeBallot(Buffer.from(JSON.stringify({ ...ballot, channel: 'fax', candidateId: undefined })))
    expect(bad).toMatchObject({ ok: false, reason: 'invalid_schema', partial: { electionId: 'e1', voterId: 'v1' } })
    if (!bad.ok) expect(bad.detail).toMatch(/channel/)
  })
  it('refuses an unknown version and unknown fields', () => {
    expect(decodeBallot(Buffer.from(JSON.stringify({ ...ballot, v: 2 })))).toMatchObject({ reason: 'invalid_schema' })
    expect(decodeBallot(Buffer.from(JSON.stringify({ ...ballot, name: 'Jane Voter' })))).toMatchObject({ reason: 'invalid_schema' })
  })
})
