/**
 * Where the local stack (`bun run stack up`) listens. The same addresses are the
 * defaults of every process's configuration and the host ports of docker-compose.yml,
 * so a newcomer can run anything without setting a variable.
 */
export const LOCAL = {
  postgres: { host: '127.0.0.1', port: 5432, user: 'votestream', password: 'votestream', database: 'votestream' },
  /** The primary's hot standby, when the stack runs one (`bun run stack up --standby`). */
  postgresStandby: { port: 5433 },
  kafka: { host: '127.0.0.1', port: 9092, controllerPort: 9093 },
  /** A replicated cluster beside it, when the stack runs one (`bun run stack up --kafka-cluster`): three nodes from this port on. */
  kafkaCluster: { firstPort: 29092 },
  temporal: { host: '127.0.0.1', port: 7233, uiPort: 8233, namespace: 'default' },
  api: { port: 3000, metricsPort: 9465 },
  tallyMetrics: { port: 9464 },
} as const

export const LOCAL_DATABASE_URL = `postgres://${LOCAL.postgres.user}:${LOCAL.postgres.password}@${LOCAL.postgres.host}:${LOCAL.postgres.port}/${LOCAL.postgres.database}`
/** The standby's address, for DATABASE_READ_URL: the same database and role, read-only by replication. */
export const LOCAL_DATABASE_READ_URL = LOCAL_DATABASE_URL.replace(`:${LOCAL.postgres.port}/`, `:${LOCAL.postgresStandby.port}/`)
export const LOCAL_KAFKA_BROKERS = `${LOCAL.kafka.host}:${LOCAL.kafka.port}`
export const LOCAL_TEMPORAL_ADDRESS = `${LOCAL.temporal.host}:${LOCAL.temporal.port}`

/** Kafka topics and their partition counts; the stack and docker-compose create these. */
export const TOPICS = {
  votes: { name: 'votes', partitions: 6 },
  rejected: { name: 'votes.rejected', partitions: 3 },
  results: { name: 'results', partitions: 3 },
} as const

/** Search attributes the Temporal server must know so the Web UI can filter elections. */
export const SEARCH_ATTRIBUTES = { ElectionId: 'Keyword', ElectionStatus: 'Keyword' } as const
