import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

/**
 * The producer part of patches/kafkajs+2.2.4.patch, driven through kafkajs's own
 * sendMessages with a cluster of in-memory brokers (no network). Unpatched, kafkajs resolved
 * `send()` while messages for partitions that moved from a dead broker to one that had
 * already answered were never sent (kafkajs #1303, #1798; the broker-loss test lost 76 of
 * 32,400 ballots that way). If kafkajs is upgraded and the patch no longer applies, this fails.
 */
const require = createRequire(import.meta.url)
const sendMessages = require('kafkajs/src/producer/sendMessages.js')
const Cluster = require('kafkajs/src/cluster/index.js')
const createRetry = require('kafkajs/src/retry/index.js')
const createDefaultPartitioner = require('kafkajs/src/producer/partitioners/default/index.js')
const { KafkaJSConnectionClosedError, KafkaJSBrokerNotFound } = require('kafkajs/src/errors.js')

type TopicData = Array<{ topic: string; partitions: Array<{ partition: number; messages: Array<{ value: string }> }> }>
interface FakeBroker {
  nodeId: string
  dead?: boolean
  produce(request: { topicData: TopicData; acks: number }): Promise<unknown>
}

/** What the cluster holds: every message value written, with how many times. */
function makeLog() {
  const written = new Map<string, number>()
  return {
    written,
    broker(nodeId: number, fail?: (self: FakeBroker) => Promise<void>): FakeBroker {
      const self: FakeBroker = {
        nodeId: String(nodeId),
        async produce({ topicData, acks }) {
          if (fail) await fail(self)
          for (const t of topicData)
            for (const p of t.partitions) for (const m of p.messages) written.set(String(m.value), (written.get(String(m.value)) ?? 0) + 1)
          const topics = topicData.map((t) => ({
            topicName: t.topic,
            partitions: t.partitions.map((p) => ({
              partition: p.partition,
              errorCode: 0,
              baseOffset: '0',
              logAppendTime: '-1',
              logStartOffset: '0',
            })),
          }))
          return acks === 0 ? undefined : { topics, throttleTime: 0 }
        },
      }
      return self
    },
  }
}

function makeCluster(
  brokers: Record<number, FakeBroker>,
  leaders: Record<number, number>,
  onRefresh: (c: { leaders: Record<number, number> }) => void,
) {
  const cluster = {
    leaders,
    targetTopics: new Set<string>(),
    async refreshMetadataIfNecessary() {},
    async refreshMetadata() {
      onRefresh(cluster)
    },
    async addMultipleTargetTopics(topics: string[]) {
      for (const t of topics) cluster.targetTopics.add(t)
    },
    findTopicPartitionMetadata: () => Object.entries(cluster.leaders).map(([p, l]) => ({ partitionId: Number(p), leader: l })),
    findLeaderForPartitions(topic: string, partitions: number[]) {
      return Cluster.prototype.findLeaderForPartitions.call(cluster, topic, partitions)
    },
    async findBroker({ nodeId }: { nodeId: number }) {
      const b = brokers[nodeId]
      if (!b || b.dead) {
        await cluster.refreshMetadata()
        throw new KafkaJSBrokerNotFound(`broker ${nodeId} not found`)
      }
      return b
    },
    isConnected: () => true,
    removeBroker() {},
    async connect() {},
  }
  return cluster
}

const eos = {
  isTransactional: () => false,
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
  getTransactionalId: () => undefined,
  getSequence: () => 0,
  updateSequence() {},
  async acquireBrokerLock() {},
  releaseBrokerLock() {},
}

/** Broker 1 leads partitions 0 and 1 and dies mid-request; broker 2 answers for 2 and 3, then leads all four. */
function brokerLoss() {
  const log = makeLog()
  const brokers: Record<number, FakeBroker> = {
    1: log.broker(1, async (self) => {
      await new Promise((r) => setTimeout(r, 10))
      self.dead = true
      throw new KafkaJSConnectionClosedError('connection closed', { host: 'a', port: 1 })
    }),
    2: log.broker(2),
  }
  const cluster = makeCluster(brokers, { 0: 1, 1: 1, 2: 2, 3: 2 }, (c) => {
    if (brokers[1]?.dead) c.leaders = { 0: 2, 1: 2, 2: 2, 3: 2 }
  })
  return { log, cluster }
}

function send(cluster: unknown, messages: Array<{ key?: string; partition?: number; value: string }>) {
  const run = sendMessages({
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    cluster,
    partitioner: createDefaultPartitioner(),
    eosManager: eos,
    retrier: createRetry({ initialRetryTime: 5, retries: 5, factor: 0 }),
  })
  return run({ acks: -1, timeout: 1000, compression: 0, topicMessages: [{ topic: 'votes', messages }] })
}

describe('the patched kafkajs producer', () => {
  it('sends again the partitions of a broker that died to their new leader, even one that already answered', async () => {
    const { log, cluster } = brokerLoss()
    const values = Array.from({ length: 8 }, (_, i) => `m${i}`)
    await send(
      cluster,
      values.map((value, i) => ({ partition: i % 4, value })),
    )
    expect([...log.written.keys()].sort()).toEqual(values.sort())
    expect([...log.written.values()].every((n) => n === 1)).toBe(true)
  })

  it('keeps each keyless message on the partition chosen first: none lost, none written twice', async () => {
    const { log, cluster } = brokerLoss()
    const values = Array.from({ length: 6 }, (_, i) => `k${i}`)
    await send(
      cluster,
      values.map((value) => ({ value })),
    )
    expect([...log.written.keys()].sort()).toEqual(values.sort())
    expect([...log.written.values()].every((n) => n === 1)).toBe(true)
  })

  it('fails a send with a partition no broker leads, instead of resolving without it', async () => {
    const log = makeLog()
    const cluster = makeCluster({ 1: log.broker(1) }, { 0: 1, 1: 1 }, () => {})
    await expect(
      send(cluster, [
        { partition: 0, value: 'x0' },
        { partition: 7, value: 'x7' },
      ]),
    ).rejects.toThrow(/no leader known for partitions 7/)
  })
})
