import { Kafka, type LogEntry, type logCreator, logLevel, type Producer, type ProducerConfig } from 'kafkajs'
import { defaultPartitioner } from './kafka-partitioner.ts'
import type { Logger } from './log.ts'

/**
 * kafkajs schedules timers with a negative delay while it is not throttled; Node clamps
 * them to 1 ms silently, Bun prints a TimeoutNegativeWarning for each. Clamping the delay
 * here does what Node does, without the noise.
 */
const nativeSetTimeout = globalThis.setTimeout
globalThis.setTimeout = Object.assign(
  (handler: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) =>
    nativeSetTimeout(handler, delay !== undefined && delay < 0 ? 1 : delay, ...args),
  nativeSetTimeout,
) as typeof setTimeout
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** Routes kafkajs's own logs through the process's structured logger. */
function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ level, log: entry }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...fields } = entry
      log[LEVELS[level] ?? 'info']({ kafka: fields }, message)
    }
}

/**
 * How often producers refresh the topics' partition counts (kafkajs's default: 5 minutes).
 * A voter's ballots go to the partition their key hashes to among the partitions a producer
 * knows: partitions added to `votes` change that for a producer only at its next refresh,
 * so the window in which two producers place one voter's ballots apart is this long.
 */
export const PRODUCER_METADATA_MAX_AGE_MS = 30_000

/** A kafkajs client whose producers partition like kafkajs's default, faster (see kafka-partitioner.ts). */
class VoteStreamKafka extends Kafka {
  override producer(config: ProducerConfig = {}): Producer {
    return super.producer({ createPartitioner: defaultPartitioner, metadataMaxAge: PRODUCER_METADATA_MAX_AGE_MS, ...config })
  }
}

export function createKafka(options: { brokers: string[]; clientId: string; log?: Logger; retries?: number }): Kafka {
  return new VoteStreamKafka({
    brokers: options.brokers,
    clientId: options.clientId,
    logLevel: options.log ? logLevel.WARN : logLevel.NOTHING,
    logCreator: options.log ? pinoLogCreator(options.log.child({ component: 'kafkajs' })) : undefined,
    retry: { initialRetryTime: 100, retries: options.retries ?? 8 },
  })
}
