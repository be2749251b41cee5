import type { Client } from '@temporalio/client'
import type { Admin } from 'kafkajs'
import { ping, type Sql } from '../../lib/db/sql.ts'

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))])

/**
 * /healthz: a real request to each dependency, each given two seconds; with a standby for
 * public reads (DATABASE_READ_URL), that too (`postgresReads`): without it results answer 503.
 */
export function createHealthCheck(deps: { sql: Sql; readSql?: Sql; admin: Admin; temporal: Client }) {
  const reads = deps.readSql && deps.readSql !== deps.sql ? deps.readSql : undefined
  return async () => {
    const [postgres, kafka, temporal, postgresReads] = await Promise.allSettled([
      within(ping(deps.sql), 2000),
      within(deps.admin.describeCluster(), 2000),
      within(deps.temporal.workflowService.getSystemInfo({}), 2000),
      reads ? within(ping(reads), 2000) : Promise.resolve(),
    ])
    return {
      postgres: postgres.status === 'fulfilled',
      kafka: kafka.status === 'fulfilled',
      temporal: temporal.status === 'fulfilled',
      ...(reads ? { postgresReads: postgresReads.status === 'fulfilled' } : {}),
    }
  }
}
