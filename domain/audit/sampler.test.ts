import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { uniform } from '../simulation-random.ts'
import { drawSample, locate, manifestTotal, SEED_MIN_DIGITS, seedSchema, sha256Hex, ticket } from './sampler.ts'

// Rivest's own transcript in sampler.py (version of November 14, 2011,
// http://people.csail.mit.edu/rivest/sampler.py): seed 3546311556112163624615351222, a = 1,
// b = 876. It samples without replacement, so it rejects draw 32 (611 again); with
// replacement, as here, draw 32 is that 611.
const RIVEST_SEED = '3546311556112163624615351222'
const RIVEST_DRAWS = [
  740, 180, 264, 789, 238, 448, 272, 611, 761, 208, 596, 88, 160, 113, 766, 427, 184, 816, 653, 411, 779, 331, 339, 487, 594, 235, 65, 527,
  821, 490, 461, 611, 251, 471, 414, 174, 567, 300, 134, 144, 357, 786, 792, 218, 550, 787, 537, 197,
]

describe('sha256Hex', () => {
  it('gives the FIPS 180-2 examples', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
  })

  it("equals node:crypto's on every length across block edges, and on UTF-8 text", () => {
    const node = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex')
    for (let len = 0; len <= 300; len++) {
      const text = Array.from({ length: len }, (_, i) => String.fromCharCode(32 + Math.floor(uniform(len, i, 0x5a) * 95))).join('')
      expect(sha256Hex(text), `length ${len}`).toBe(node(text))
    }
    for (const t of ['é', '選挙', '😊'.repeat(40), `${'9'.repeat(200)},123456`]) expect(sha256Hex(t)).toBe(node(t))
  })
})

describe('ticket: SHA-256(seed + "," + k) mod N + 1', () => {
  it("reproduces Rivest's transcript of sampler.py, draw by draw", () => {
    expect(RIVEST_DRAWS.map((_, i) => ticket(RIVEST_SEED, i + 1, 876))).toEqual(RIVEST_DRAWS)
  })

  it("reproduces cjerdonek/rivest-sampler-tests' tests.json", () => {
    // https://github.com/cjerdonek/rivest-sampler-tests/blob/master/tests.json
    const cases: Array<[string, number, number[]]> = [
      ['0', 1000, [905, 573, 160]],
      ['0', 2, [1, 1, 2]],
      ['1', 1000, [97, 89, 163]],
      ['0000000000', 1000, [978, 359, 132]],
      ['999999999999999999999999', 1000, [544, 800, 654]],
      ['abcde', 1000, [247, 427, 157]],
    ]
    for (const [seed, total, expected] of cases)
      expect(
        [1, 2, 3].map((k) => ticket(seed, k, total)),
        seed,
      ).toEqual(expected)
  })

  it('refuses a manifest too large to count exactly in a number', () => {
    expect(() => ticket(RIVEST_SEED, 1, 2 ** 53)).toThrow(RangeError)
  })

  it('refuses draw 0 and an empty manifest', () => {
    expect(() => ticket(RIVEST_SEED, 0, 10)).toThrow(/from 1/)
    expect(() => ticket(RIVEST_SEED, 1, 0)).toThrow(/at least one ballot/)
  })
})

describe('seedSchema', () => {
  it('takes 20 or more digits', () => {
    expect(seedSchema.parse('12345678901234567890')).toBe('12345678901234567890')
    expect(seedSchema.safeParse(RIVEST_SEED).success).toBe(true)
  })

  it('names the problem', () => {
    const short = seedSchema.safeParse('1234567890')
    expect(short.success).toBe(false)
    expect(short.error?.issues[0]?.message).toMatch(`at least ${SEED_MIN_DIGITS} digits`)
    const spaced = seedSchema.safeParse('12345 67890 12345 67890')
    expect(spaced.error?.issues.map((i) => i.message).join('; ')).toMatch(/digits rolled on the dice.*no spaces/)
    expect(seedSchema.safeParse('1234567890123456789a').error?.issues[0]?.message).toMatch(/no spaces, signs or letters/)
    expect(seedSchema.safeParse('').success).toBe(false)
  })
})

describe('the manifest', () => {
  const manifest = [
    { id: 'north-election-day-box-1', ballots: 300 },
    { id: 'north-mail-box-1', ballots: 0 },
    { id: 'north-mail-box-2', ballots: 76 },
    { id: 'south-early-box-1', ballots: 500 },
  ]

  it('maps a ticket to a batch and a position in it, skipping empty batches', () => {
    expect(manifestTotal(manifest)).toBe(876)
    expect(locate(manifest, 1)).toEqual({ batchId: 'north-election-day-box-1', position: 1 })
    expect(locate(manifest, 300)).toEqual({ batchId: 'north-election-day-box-1', position: 300 })
    expect(locate(manifest, 301)).toEqual({ batchId: 'north-mail-box-2', position: 1 })
    expect(locate(manifest, 376)).toEqual({ batchId: 'north-mail-box-2', position: 76 })
    expect(locate(manifest, 377)).toEqual({ batchId: 'south-early-box-1', position: 1 })
    expect(locate(manifest, 876)).toEqual({ batchId: 'south-early-box-1', position: 500 })
    expect(() => locate(manifest, 877)).toThrow(RangeError)
    expect(() => locate(manifest, 0)).toThrow(RangeError)
  })

  it('draws a fixed, documented sequence: the transcript above, located in the manifest', () => {
    const sample = drawSample(RIVEST_SEED, manifest, 5)
    expect(sample).toEqual([
      { draw: 1, ticket: 740, batchId: 'south-early-box-1', position: 364 },
      { draw: 2, ticket: 180, batchId: 'north-election-day-box-1', position: 180 },
      { draw: 3, ticket: 264, batchId: 'north-election-day-box-1', position: 264 },
      { draw: 4, ticket: 789, batchId: 'south-early-box-1', position: 413 },
      { draw: 5, ticket: 238, batchId: 'north-election-day-box-1', position: 238 },
    ])
  })

  it('escalates by continuing the sequence: the first draws never change', () => {
    const all = drawSample(RIVEST_SEED, manifest, 48)
    const rounds = [...drawSample(RIVEST_SEED, manifest, 20), ...drawSample(RIVEST_SEED, manifest, 28, 21)]
    expect(rounds).toEqual(all)
    expect(all.map((b) => b.ticket)).toEqual(RIVEST_DRAWS)
    // With replacement: ticket 611 comes at draws 8 and 32, and is counted twice.
    expect(all.filter((b) => b.ticket === 611).map((b) => b.draw)).toEqual([8, 32])
  })

  it('refuses a seed that fails the schema', () => {
    expect(() => drawSample('123', manifest, 1)).toThrow(/at least 20 digits/)
  })
})
