import { createHash } from 'node:crypto'
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs'
import { safeText } from '../../domain/ballot.ts'
import { accountBatch, isDatabaseFault } from '../../lib/counting/account-batch.ts'
import type { ConsumedMessage, Rejection } from '../../lib/counting/count-batch.ts'
import { storedOffsets } from '../../lib/db/counting.ts'
import { recordLogGaps } from '../../lib/db/log-gaps.ts'
import { electionsOpenedWithFewerPartitions } from '../../lib/db/polls.ts'
import type { Sql } from '../../lib/db/sql.ts'
import { TOPICS } from '../../lib/local-stack.ts'
import type { Logger } from '../../lib/log.ts'
import { gapsAgainstLog } from '../../lib/log-bounds.ts'
import type { TallyConfig } from './config.ts'
import { createGroupCommit } from './group-commit.ts'
import type { TallyMetrics } from './metrics.ts'
import { createProgressWatch } from './progress-watch.ts'
import { runsOfBatch } from './runs-of-batch.ts'

/** Raw bytes republished to `votes.rejected` at most; the full bytes stay in PostgreSQL. */
export const REJECTED_RAW_MAX_BYTES = 16 * 1024
/** One produce request to `votes.rejected` at most: well under the broker's 1 MiB per partition. */
const REJECTED_SEND_MAX_BYTES = 256 * 1024

/** Cuts messages into runs whose value and header bytes stay under `max` (one message is at least one run). */
function bySize<M extends { value: Buffer; headers: Record<string, string> }>(messages: M[], max: number): M[][] {
  const runs: M[][] = []
  let run: M[] = []
  let size = 0
  for (const m of messages) {
    const bytes = m.value.length + Object.entries(m.headers).reduce((n, [k, v]) => n + k.length + v.length, 64)
    if (run.length > 0 && size + bytes > max) {
      runs.push(run)
      run = []
      size = 0
    }
    run.push(m)
    size += bytes
  }
  if (run.length > 0) runs.push(run)
  return runs
}

export interface TallyConsumer {
  start(): Promise<void>
  /** Finishes the batch in flight (it commits), leaves the group, disconnects. */
  stop(): Promise<void>
  /** Why the consumer is not healthy, or null when it is. */
  problem(): string | null
}

/**
 * The `votes` consumer. Offsets live in PostgreSQL, committed with the counts: on every
 * partition assignment the consumer seeks to the offsets stored with the counts, so a
 * restart or a rebalance resumes exactly where the last committed transaction ended. They
 * are mirrored to Kafka every few seconds, for Kafka's own tools and autoscalers to see
 * the group's lag — advisory only: nothing here ever reads them back.
 */
export function createTallyConsumer(deps: {
  kafka: Kafka
  /** Reads the log's bounds at assignment (connected and disconnected by the caller). */
  admin: Admin
  producer: Producer
  sql: Sql
  log: Logger
  metrics: TallyMetrics
  config: Pick<
    TallyConfig,
    | 'TALLY_GROUP_ID'
    | 'TALLY_TOPIC'
    | 'TALLY_CONCURRENCY'
    | 'TALLY_MAX_WAIT_MS'
    | 'TALLY_MIN_BYTES'
    | 'TALLY_MAX_BATCH'
    | 'TALLY_MAX_CLOCK_SKEW_MS'
    | 'TALLY_STALL_AFTER_MS'
    | 'TALLY_METADATA_MAX_AGE_MS'
  >
  /** After each fetch's batches commit: the elections they changed, and the ballots they put into the (pending) ballot box. */
  onCounted: (electionIds: Set<string>, boxed: number) => void
  /** The consumer stopped for good (kafkajs gave up): the process should exit non-zero. */
  onFatal: (err: unknown) => void
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
    // Partitions added to the topic join the group's assignment at the next refresh.
    metadataMaxAge: config.TALLY_METADATA_MAX_AGE_MS,
    retry: { retries: 10 },
  })
  const progress = createProgressWatch(config.TALLY_STALL_AFTER_MS)
  let joined = false
  let stopping = false
  let known = new Map<number, string>()
  /** Partitions whose log ends below the stored offset, with why: counting them is impossible. */
  const truncated = new Map<number, string>()
  /** The database error that holds counting back, while it does. */
  let databaseFault: string | null = null

  const { GROUP_JOIN, CRASH, DISCONNECT, REBALANCING } = consumer.events
  consumer.on(GROUP_JOIN, ({ payload }) => {
    joined = true
    const partitions = payload.memberAssignment[topic] ?? []
    // A partition that moved to another instance is that instance's to report: its lag and
    // stalled gauges here would stand frozen at their last values for ever.
    for (const p of progress.partitions()) {
      if (partitions.includes(p)) continue
      metrics.lag.remove({ partition: p })
      metrics.stalled.remove({ partition: p })
    }
    progress.assigned(partitions)
    mirrored.clear()
    // Seek at once with what is known (so no fetch starts from elsewhere), then again
    // with the offsets just read: another instance may have counted further meanwhile.
    seekTo(partitions, known)
    void storedOffsets(sql, groupId, topic)
      .then((fresh) => {
        known = fresh
        seekTo(partitions, fresh, true)
        log.info({ partitions, offsets: Object.fromEntries(fresh) }, 'partitions assigned; resuming from stored offsets')
        return checkLogBounds(partitions, fresh)
      })
      .catch((err) => log.error({ err }, 'could not read stored offsets or the log bounds'))
  })
  consumer.on(REBALANCING, () => {
    joined = false
  })
  consumer.on(DISCONNECT, () => {
    joined = false
  })
  consumer.on(CRASH, ({ payload }) => {
    log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed')
    // kafkajs restarts the consumer itself when it can; when it cannot, only a new
    // process will: exit so that whatever supervises this one starts it again.
    if (!payload.restart && !stopping) deps.onFatal(payload.error)
  })

  /**
   * A log that ends below the stored offset (the topic re-created) or starts above it
   * (retention passed while the tally was away) is recorded as a gap, which blocks the
   * certification of every election open meanwhile, and a truncated log makes the tally
   * unhealthy: what is written there now lies below the fence and cannot be counted.
   */
  async function checkLogBounds(partitions: number[], stored: Map<number, string>) {
    const offsets = await deps.admin.fetchTopicOffsets(topic)
    const mine = offsets.filter((o) => partitions.includes(o.partition))
    // Each partition's lag from the moment it is ours, not from its first batch: an idle
    // partition then reports 0 here, and nowhere else.
    const held = new Set(progress.partitions())
    for (const o of mine) {
      const at = stored.get(o.partition)
      // Still ours (the read above is async: a rebalance may have moved it meanwhile).
      if (at !== undefined && held.has(o.partition))
        metrics.lag.set({ partition: o.partition }, Math.max(0, Number(BigInt(o.high) - BigInt(at))))
    }
    // An alarm only: its failure must not keep the gaps below from being recorded.
    await checkPartitionCount(offsets.length).catch((err) => log.warn({ err }, 'could not compare the partition count with open elections'))
    const gaps = gapsAgainstLog(stored, mine)
    if (gaps.length === 0) return
    await recordLogGaps(sql, groupId, topic, gaps)
    for (const g of gaps) {
      if (g.kind === 'log_truncated') truncated.set(g.partition, g.detail)
      log.error({ partition: g.partition, from: g.from, to: g.to, kind: g.kind }, `gap in the log: ${g.detail}`)
    }
  }

  /**
   * Partitions added while an election's polls are open put a voter's later ballot on
   * another partition than their first (ballots are keyed by voter), where it may be read
   * first. Counting goes on (certification names any voter it touched); this says so while
   * it happens, from every instance that joins the group after the change.
   */
  async function checkPartitionCount(partitions: number) {
    const grown = await electionsOpenedWithFewerPartitions(sql, partitions)
    metrics.partitionsAddedWhileOpen.set(grown.length)
    if (grown.length > 0)
      log.error(
        { topic, partitions, elections: grown },
        "partitions were added to the topic while these elections' polls are open: a voter's later ballot may lie on another partition than their first (certification checks each voter)",
      )
  }

  /**
   * Seeks each partition to its stored offset. With `fromStart`, a partition PostgreSQL has no
   * offset for starts at the beginning of the log, never at the offset mirrored to Kafka:
   * that one is advisory (an operator who reset the stored offset meant it).
   */
  function seekTo(partitions: number[], offsets: Map<number, string>, fromStart = false) {
    for (const partition of partitions) {
      const offset = offsets.get(partition) ?? (fromStart ? '0' : undefined)
      if (offset !== undefined) consumer.seek({ topic, partition, offset })
    }
  }

  async function publishRejections(rejections: Rejection[]) {
    const messages = rejections.map((r) => {
      const truncated = r.raw.length > REJECTED_RAW_MAX_BYTES
      return {
        key: `${r.topic}/${r.partition}/${r.offset}`,
        value: truncated ? r.raw.subarray(0, REJECTED_RAW_MAX_BYTES) : r.raw,
        headers: {
          reason: r.reason,
          detail: r.detail,
          'election-id': r.electionId ?? '',
          'source-topic': r.topic,
          'source-partition': String(r.partition),
          'source-offset': r.offset,
          'raw-bytes': String(r.raw.length),
          ...(truncated ? { truncated: 'true', 'raw-sha256': createHash('sha256').update(r.raw).digest('hex') } : {}),
        },
      }
    })
    // Sends of at most REJECTED_SEND_MAX_BYTES: a batch of thousands of rejections in one
    // request passed the broker's limit per partition, a refusal no retry could cure.
    for (const chunk of bySize(messages, REJECTED_SEND_MAX_BYTES)) {
      await deps.producer.send({ topic: TOPICS.rejected.name, acks: -1, messages: chunk })
    }
  }

  /**
   * Waits before retrying a transient failure or a database fault, longer each time; gives
   * up when stopping. A database fault makes the tally unhealthy, naming the error, until a
   * batch commits again: an operator has something to fix, and no ballot pays for it.
   */
  async function beforeRetry(err: unknown, attempt: number, partitions: number[]) {
    metrics.retries.inc()
    const waitMs = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))
    if (isDatabaseFault(err)) {
      databaseFault = safeText(String((err as { code?: string }).code ?? '') + ' ' + String((err as Error).message), 300)
      metrics.databaseFault.set(1)
      log.error({ err, partitions, attempt, waitMs }, 'counting stopped by the database (not by a message); retrying until fixed')
    } else log.warn({ err, partitions, attempt, waitMs }, 'batch failed for a transient reason; retrying')
    await new Promise((r) => setTimeout(r, waitMs))
    if (stopping) throw new Error('stopping: the batch is left for redelivery')
  }

  /** One transaction for the batches of every partition that arrived meanwhile (see group-commit.ts). */
  const committer = createGroupCommit<ConsumedMessage, void>({
    maxInFlight: config.TALLY_CONCURRENCY,
    maxMessages: config.TALLY_MAX_BATCH,
    commit: async (messages) => {
      const partitions = [...new Set(messages.map((m) => m.partition))]
      const timer = metrics.batchDuration.startTimer()
      const outcomes = await accountBatch(
        sql,
        { groupId, topic, messages, maxClockSkewMs: config.TALLY_MAX_CLOCK_SKEW_MS },
        {
          beforeCommit: publishRejections,
          beforeRetry: (err, attempt) => beforeRetry(err, attempt, partitions),
          onUnprocessable: (m, err) => {
            metrics.unprocessable.inc()
            log.error({ err, partition: m.partition, offset: m.offset }, 'message set aside as unprocessable')
          },
        },
      )
      timer()
      if (databaseFault !== null) {
        log.info({ fault: databaseFault }, 'the database accepts batches again: counting resumed')
        databaseFault = null
        metrics.databaseFault.set(0)
      }
      metrics.batchSize.observe(messages.length)
      const changed = new Set<string>()
      let boxed = 0
      for (const outcome of outcomes) {
        boxed += outcome.boxed
        metrics.counted.inc(outcome.counted)
        metrics.duplicates.inc(outcome.duplicates)
        metrics.redelivered.inc(outcome.redelivered)
        for (const r of outcome.rejected) metrics.rejected.inc({ reason: r.reason })
        for (const ms of outcome.latenciesMs) metrics.latency.observe(ms / 1000)
        for (const id of outcome.changed) changed.add(id)
      }
      if (changed.size > 0) deps.onCounted(changed, boxed)
      log.debug({ partitions, messages: messages.length, transactions: outcomes.length }, 'batches accounted for')
    },
  })

  /** What was last mirrored to Kafka, by partition (cleared at each assignment: the previous owner may have mirrored since). */
  const mirrored = new Map<number, string>()
  async function mirrorOffsets() {
    if (!joined) return
    const offsets: Array<{ topic: string; partition: number; offset: string }> = []
    // Only partitions still ours: a revoked one's older offset would overwrite its new owner's.
    for (const partition of progress.partitions()) {
      const offset = known.get(partition)
      if (offset !== undefined && mirrored.get(partition) !== offset) offsets.push({ topic, partition, offset })
    }
    if (offsets.length === 0) return
    try {
      await consumer.commitOffsets(offsets)
      for (const o of offsets) mirrored.set(o.partition, o.offset)
    } catch (err) {
      // A rebalance in progress refuses commits; the next tick tries again.
      log.debug({ err }, 'offsets not mirrored to Kafka this time')
    }
  }
  const mirror = setInterval(() => void mirrorOffsets(), 5_000)

  return {
    problem() {
      if (!joined) return 'consumer not in its group'
      if (databaseFault !== null) return `counting stopped by the database: ${databaseFault}`
      const [cut] = truncated
      if (cut) return `partition ${cut[0]}: ${cut[1]}; reset its stored offset after checking what was lost`
      const stalled = progress.stalled()
      for (const p of progress.partitions()) metrics.stalled.set({ partition: p }, stalled.includes(p) ? 1 : 0)
      if (stalled.length > 0) return `partitions with lag and no progress for ${config.TALLY_STALL_AFTER_MS} ms: ${stalled.join(', ')}`
      return null
    },

    async start() {
      known = await storedOffsets(sql, groupId, topic)
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every assigned partition's batch is handed over at once; the group commit decides
        // how many transactions run (TALLY_CONCURRENCY) and what each holds.
        partitionsConsumedConcurrently: 1024,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const { partition } = batch
          progress.fetched(partition, BigInt(batch.highWatermark))
          for (const run of runsOfBatch(batch, config.TALLY_MAX_BATCH)) {
            if (!isRunning() || isStale()) return
            await committer.submit(run.entries)
            resolveOffset(run.through)
            const next = BigInt(run.through) + 1n
            known.set(partition, String(next))
            progress.accounted(partition, next)
            metrics.lag.set({ partition }, Math.max(0, Number(BigInt(batch.highWatermark) - next)))
            await heartbeat()
          }
        },
      })
    },

    async stop() {
      stopping = true
      clearInterval(mirror)
      // A last mirror, but not at the price of the shutdown: it is advisory.
      await Promise.race([mirrorOffsets(), new Promise((r) => setTimeout(r, 2_000))])
      await consumer.disconnect()
    },
  }
}
