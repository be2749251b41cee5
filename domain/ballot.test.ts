import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acceptCanonicalBallot, acceptCanonicalBallotV2, ballotV1, ballotV2, decodeBallot, encodeBallot } from './ballot.ts'

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

describe('the fast path for ballots in canonical form', () => {
  const idChars = fc.constantFrom(...'abcXYZ019_.:-'.split(''))
  const id = fc.tuple(fc.constantFrom(...'aZ7'.split('')), fc.array(idChars, { maxLength: 70 })).map(([h, t]) => h + t.join(''))
  const instant = fc
    .date({ min: new Date('1999-12-31T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .map((d) => d.toISOString())
  const uuid = fc.tuple(fc.uuid({ version: [1, 4, 7] }), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u))
  const canonical = fc.record({
    v: fc.constant(1),
    ballotId: uuid,
    electionId: id,
    voterId: id,
    candidateId: id,
    regionId: id,
    channel: fc.constantFrom('election_day', 'early', 'mail'),
    castAt: instant,
  })
  // Values that sit at the edges of what the schema accepts.
  const tricky = fc.oneof(
    fc.anything(),
    fc.constantFrom(
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '2024-02-30T10:00:00.000Z',
      '2024-06-01T24:00:00.000Z',
      '2016-12-31T23:59:60.000Z',
      '2024-06-01T10:00:00Z',
      '2024-06-01T10:00:00.000+00:00',
      '2024-06-01T10:00:00.0000Z',
      '1999-12-31T23:59:59.999Z',
      '9999-12-31T00:00:00.001Z',
      '',
      'a'.repeat(65),
      'with space',
      '1',
      'mail ',
    ),
    fc.string(),
  )
  const mutated = fc
    .tuple(
      canonical,
      fc.constantFrom('v', 'ballotId', 'electionId', 'voterId', 'candidateId', 'regionId', 'channel', 'castAt', 'extra'),
      tricky,
      fc.boolean(),
    )
    .map(([b, key, value, drop]) => {
      const o: Record<string, unknown> = { ...b }
      if (drop && key !== 'extra') delete o[key]
      else o[key] = value
      return o
    })

  it('accepts every canonical ballot, and returns what the schema returns', () => {
    fc.assert(
      fc.property(canonical, (o) => {
        const parsed = ballotV1.safeParse(o)
        const fast = acceptCanonicalBallot(o)
        if (!parsed.success) return fast === undefined
        return fast !== undefined && JSON.stringify(fast) === JSON.stringify(parsed.data)
      }),
      { numRuns: 2000 },
    )
  })

  it('accepts nothing the schema refuses, and whatever it accepts comes out as from the schema', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, fc.anything()), (o) => {
        const fast = acceptCanonicalBallot(o)
        if (fast === undefined) return true
        const parsed = ballotV1.safeParse(o)
        return parsed.success && JSON.stringify(fast) === JSON.stringify(parsed.data)
      }),
      { numRuns: 5000 },
    )
  })

  // Version 2: the same envelope, and marks per contest (ids, sometimes a name written in).
  const mark = fc.oneof(
    { weight: 6, arbitrary: id },
    { weight: 1, arbitrary: tricky },
    { weight: 1, arbitrary: fc.record({ writeIn: fc.string() }) },
  )
  const marks = fc.oneof(
    fc.dictionary(id, fc.array(id, { maxLength: 4 }), { maxKeys: 30 }),
    fc.dictionary(fc.oneof(id, fc.string()), fc.array(mark, { maxLength: 4 }), { maxKeys: 6 }),
    fc.dictionary(id, fc.array(id, { minLength: 95, maxLength: 105 }), { maxKeys: 12 }),
    tricky,
  )
  const imprint = fc.oneof(fc.stringMatching(/^[A-Za-z0-9-]{8,64}$/), tricky, fc.constant('a'.repeat(65)), fc.constant('short'))
  const canonicalV2 = fc
    .tuple(
      fc.record({
        v: fc.constant(2),
        ballotId: uuid,
        electionId: id,
        voterId: id,
        regionId: id,
        channel: fc.constantFrom('election_day', 'early', 'mail'),
        castAt: instant,
        marks,
      }),
      fc.option(imprint, { nil: undefined }),
    )
    .map(([b, i]) => (i === undefined ? b : { ...b, imprint: i }))
  const mutatedV2 = fc
    .tuple(canonicalV2, fc.constantFrom('v', 'ballotId', 'marks', 'candidateId', 'castAt', 'imprint', 'extra'), tricky, fc.boolean())
    .map(([b, key, value, drop]) => {
      const o: Record<string, unknown> = { ...b }
      if (drop && key !== 'extra') delete o[key]
      else o[key] = value
      return o
    })

  it('version 2: accepts nothing the schema refuses, and returns what the schema returns', () => {
    fc.assert(
      fc.property(fc.oneof(canonicalV2, mutatedV2, fc.anything()), (o) => {
        const json = JSON.parse(JSON.stringify(o) ?? 'null')
        const fast = acceptCanonicalBallotV2(json)
        const parsed = ballotV2.safeParse(json)
        if (fast === undefined) return true
        return parsed.success && JSON.stringify(fast) === JSON.stringify(parsed.data)
      }),
      { numRuns: 5000 },
    )
  })

  it('version 2: a long ballot of selection ids, as the simulator sends it, takes the fast path', () => {
    const { candidateId: _, ...envelope } = ballot
    const sent = { ...envelope, v: 2 as const, marks: { president: ['ada'], council: ['a', 'b'], 'prop-1': [] } }
    const json = JSON.parse(encodeBallot(ballotV2.parse(sent)).toString())
    expect(acceptCanonicalBallotV2(json)).toEqual(ballotV2.parse(sent))
    expect(acceptCanonicalBallotV2({ ...json, marks: { president: [{ writeIn: 'Zed' }] } })).toBeUndefined()
    expect(acceptCanonicalBallotV2({ ...json, marks: { president: Array(101).fill('ada') } })).toBeUndefined()
  })

  it("version 2: carries a paper's imprint, and refuses one that is the voter's or the ballot's id", () => {
    const { candidateId: _, ...envelope } = ballot
    const sent = { ...envelope, v: 2 as const, marks: { president: ['ada'] }, imprint: '3f2a9c41-77d0e1b2-0c9e55aa' }
    const json = JSON.parse(encodeBallot(ballotV2.parse(sent)).toString())
    expect(acceptCanonicalBallotV2(json)).toEqual(ballotV2.parse(sent))
    expect(decodeBallot(encodeBallot(sent))).toEqual({ ok: true, ballot: ballotV2.parse(sent) })
    for (const bad of ['short', 'a'.repeat(65), 'with space', 'ünïcode-1']) {
      const decoded = decodeBallot(Buffer.from(JSON.stringify({ ...sent, imprint: bad })))
      expect(decoded).toMatchObject({ ok: false, reason: 'invalid_schema', detail: expect.stringContaining('imprint') })
    }
    for (const ballotIdAsImprint of [envelope.ballotId.toUpperCase(), envelope.ballotId.replaceAll('-', '')]) {
      const decoded = decodeBallot(Buffer.from(JSON.stringify({ ...sent, imprint: ballotIdAsImprint })))
      expect(decoded).toMatchObject({ ok: false, reason: 'invalid_schema', detail: expect.stringContaining('ballot id') })
    }
    // One form, lower case, whichever way the scanner printed it.
    expect(decodeBallot(encodeBallot({ ...sent, imprint: '3F2A9C41-77D0E1B2-0C9E55AA' }))).toMatchObject({
      ok: true,
      ballot: { imprint: '3f2a9c41-77d0e1b2-0c9e55aa' },
    })
    const voterAsImprint = decodeBallot(Buffer.from(JSON.stringify({ ...sent, voterId: 'voter-0001', imprint: 'VOTER-0001' })))
    expect(voterAsImprint).toMatchObject({
      ok: false,
      reason: 'invalid_schema',
      detail: expect.stringContaining("voter's id"),
      partial: { voterId: 'voter-0001' },
    })
  })

  it('decodes what the simulator and the API send through the fast path', () => {
    const sent = { ...ballot, castAt: new Date().toISOString() }
    expect(acceptCanonicalBallot(JSON.parse(encodeBallot(sent).toString()))).toEqual(ballotV1.parse(sent))
  })
})
