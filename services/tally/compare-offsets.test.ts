import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareOffsets } from '../../lib/counting/count-batch.ts'

describe('compareOffsets', () => {
  it('orders offsets as their numbers, up to the largest offset Kafka can write', () => {
    const offset = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })
    fc.assert(
      fc.property(offset, offset, (a, b) => {
        expect(Math.sign(compareOffsets(String(a), String(b)))).toBe(a < b ? -1 : a > b ? 1 : 0)
      }),
      { numRuns: 2000 },
    )
  })

  it('orders neighbours across a change of length', () => {
    expect(compareOffsets('9', '10')).toBeLessThan(0)
    expect(compareOffsets('100', '99')).toBeGreaterThan(0)
    expect(compareOffsets('0', '0')).toBe(0)
  })
})
