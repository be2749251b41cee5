import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** The tally service's Prometheus metrics (served on /metrics). */
export function createTallyMetrics() {
  const registry = new Registry()
  const registers = [registry]
  return {
    registry,
    counted: new Counter({ name: 'votestream_ballots_counted_total', help: 'Ballots counted', registers }),
    duplicates: new Counter({
      name: 'votestream_ballots_duplicate_total',
      help: 'Messages repeating a ballot already counted (a producer retried), recorded as duplicates',
      registers,
    }),
    redelivered: new Counter({
      name: 'votestream_messages_redelivered_total',
      help: 'Messages below the stored offset: accounted for before, so they changed nothing',
      registers,
    }),
    unprocessable: new Counter({
      name: 'votestream_messages_unprocessable_total',
      help: 'Messages the database refused, set aside as unprocessable so the partition moves on',
      registers,
    }),
    retries: new Counter({
      name: 'votestream_batch_retries_total',
      help: 'Batches retried after a transient failure (database or broker unavailable)',
      registers,
    }),
    rejected: new Counter({
      name: 'votestream_ballots_rejected_total',
      help: 'Ballots rejected, by reason',
      labelNames: ['reason'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'votestream_batch_size',
      help: 'Messages per counted transaction',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'votestream_batch_duration_seconds',
      help: 'Time to count one batch, commit included',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    latency: new Histogram({
      name: 'votestream_count_latency_seconds',
      help: "From a ballot's castAt to the commit that counted it",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    databaseFault: new Gauge({
      name: 'votestream_database_fault',
      help: "1 while counting is stopped by the database's state (a revoked grant, corruption): alert on it",
      registers,
    }),
    stalled: new Gauge({
      name: 'votestream_partition_stalled',
      help: '1 while a partition has lag but has made no progress for TALLY_STALL_AFTER_MS',
      labelNames: ['partition'],
      registers,
    }),
    partitionsAddedWhileOpen: new Gauge({
      name: 'votestream_elections_partitions_added_while_open',
      help: "Open elections whose votes topic has more partitions than when their polls opened (as of this instance's last group join): alert on it",
      registers,
    }),
    lag: new Gauge({
      name: 'votestream_consumer_lag',
      help: 'Messages not yet counted, by partition',
      labelNames: ['partition'],
      registers,
    }),
  }
}
export type TallyMetrics = ReturnType<typeof createTallyMetrics>
