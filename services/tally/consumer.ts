import type { Consumer, Kafka, Producer } from 'kafkajs'
import type { Sql } from '../../lib/db/sql.ts'
import { TOPICS } from '../../lib/local-stack.ts'
import type { Logger } from '../../lib/log.ts'
import type { TallyConfig } from './config.ts'
import { type ConsumedMessage, countBatch, type Rejection, storedOffsets } from './count-batch.ts'
import type { TallyMetrics } from './metrics.ts'

export interface TallyConsumer {
  start(): Promise<void>
  /** Finishes the batch in flight (it commits), leaves the group, disconnects. */
  stop(): Promise<void>
  healthy(): boolean
}

/**
 * The `votes` consumer. Offsets live in PostgreSQL, committed with the counts, and are
 * never committed to Kafka: on every partition assignment the consumer seeks to the
 * offsets stored with the counts, so a restart or a rebalance resumes exactly where the
 * last committed transaction ended.
 */
export function createTallyConsumer(deps: {
  kafka: Kafka
  producer: Producer
  sql: Sql
  log: Logger
  metrics: TallyMetrics
  config: Pick<
    TallyConfig,
    'TALLY_GROUP_ID' | 'TALLY_TOPIC' | 'TALLY_CONCURRENCY' | 'TALLY_MAX_WAIT_MS' | 'TALLY_MIN_BYTES' | 'TALLY_MAX_BATCH'
  >
  onCounted: (electionIds: Set<string>) => void
}): TallyConsumer {
  const { sql, log, metrics, config } = deps
  const topic = config.TALLY_TOPIC
  const groupId = config.TALLY_GROUP_ID
  const consumer: Consumer = deps.kafka.consumer({
    groupId,
    maxWaitTimeInMs: config.TALLY_MAX_WAIT_MS,
    minBytes: config.TALLY_MIN_BYTES,
    maxBytesPerPartition: 2 * 1024 * 1024,
    // A killed instance's partitions move to the others after this long.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    retry: { retries: 10 },
  })
  let joined = false
  let crashed = false
  let stopping = false
  let known = new Map<number, string>()

  const { GROUP_JOIN, CRASH, DISCONNECT, REBALANCING } = consumer.events
  consumer.on(GROUP_JOIN, ({ payload }) => {
    joined = true
    const partitions = payload.memberAssignment[topic] ?? []
    // Seek at once with what is known (so no fetch starts from elsewhere), then again
    // with the offsets just read: another instance may have counted further meanwhile.
    seekTo(partitions, known)
    void storedOffsets(sql, groupId, topic)
      .then((fresh) => {
        known = fresh
        seekTo(partitions, fresh)
        log.info({ partitions, offsets: Object.fromEntries(fresh) }, 'partitions assigned; resuming from stored offsets')
      })
      .catch((err) => log.error({ err }, 'could not read stored offsets'))
  })
  consumer.on(REBALANCING, () => {
    joined = false
  })
  consumer.on(DISCONNECT, () => {
    joined = false
  })
  consumer.on(CRASH, ({ payload }) => {
    log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed')
    if (!payload.restart && !stopping) crashed = true
  })

  function seekTo(partitions: number[], offsets: Map<number, string>) {
    for (const partition of partitions) {
      const offset = offsets.get(partition)
      if (offset !== undefined) consumer.seek({ topic, partition, offset })
    }
  }

  async function publishRejections(rejections: Rejection[]) {
    await deps.producer.send({
      topic: TOPICS.rejected.name,
      acks: -1,
      messages: rejections.map((r) => ({
        key: r.dedupeKey,
        value: r.raw,
        headers: {
          reason: r.reason,
          detail: r.detail,
          'election-id': r.electionId ?? '',
          'source-partition': String(r.partition),
          'source-offset': r.offset,
        },
      })),
    })
  }

  return {
    healthy: () => joined && !crashed,

    async start() {
      known = await storedOffsets(sql, groupId, topic)
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.TALLY_CONCURRENCY,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const { partition } = batch
          for (let i = 0; i < batch.messages.length; i += config.TALLY_MAX_BATCH) {
            if (!isRunning() || isStale()) return
            const chunk = batch.messages.slice(i, i + config.TALLY_MAX_BATCH)
            const messages: ConsumedMessage[] = chunk.map((m) => ({
              partition,
              offset: m.offset,
              value: m.value,
              electionHeader: m.headers?.['election-id']?.toString(),
            }))
            const timer = metrics.batchDuration.startTimer()
            const outcome = await countBatch(sql, { groupId, topic, messages }, publishRejections)
            timer()
            const last = chunk[chunk.length - 1]
            if (last) {
              resolveOffset(last.offset)
              known.set(partition, String(BigInt(last.offset) + 1n))
              metrics.lag.set({ partition }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)))
            }
            metrics.batchSize.observe(messages.length)
            metrics.counted.inc(outcome.counted)
            metrics.alreadyCounted.inc(outcome.alreadyCounted)
            for (const r of outcome.rejected) metrics.rejected.inc({ reason: r.reason })
            for (const ms of outcome.latenciesMs) metrics.latency.observe(ms / 1000)
            if (outcome.changed.size > 0) deps.onCounted(outcome.changed)
            log.debug({ partition, offset: last?.offset, counted: outcome.counted, rejected: outcome.rejected.length }, 'batch counted')
            await heartbeat()
          }
        },
      })
    },

    async stop() {
      stopping = true
      await consumer.disconnect()
    },
  }
}
