import fc from 'fast-check'
import { type PartitionerArgs, Partitioners } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { defaultPartitioner, murmur2 } from './kafka-partitioner.ts'

describe('murmur2', () => {
  it("gives the Java client's values (Kafka's UtilsTest)", () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).toBe(hash)
  })
})

describe('defaultPartitioner', () => {
  const metadata = (n: number): PartitionerArgs['partitionMetadata'] =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }))

  it("puts every keyed message on the partition kafkajs's DefaultPartitioner picks", () => {
    const ours = defaultPartitioner()
    const theirs = Partitioners.DefaultPartitioner()
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        ),
        fc.integer({ min: 1, max: 64 }),
        (key, n) => {
          const args = { topic: 'votes', partitionMetadata: metadata(n), message: { key, value: null } }
          expect(ours(args)).toBe(theirs(args))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('keeps a partition the message names, and spreads keyless messages over every partition', () => {
    const p = defaultPartitioner()
    expect(p({ topic: 't', partitionMetadata: metadata(6), message: { key: 'v1', value: null, partition: 4 } })).toBe(4)
    const seen = new Set(Array.from({ length: 12 }, () => p({ topic: 't', partitionMetadata: metadata(6), message: { value: null } })))
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5])
  })
})
