import type { Client } from '@temporalio/client'
import type { Admin } from 'kafkajs'
import { ping, type Sql } from '../../lib/db/sql.ts'

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))])

/** /healthz: a real request to each dependency, each given two seconds. */
export function createHealthCheck(deps: { sql: Sql; admin: Admin; temporal: Client }) {
  return async () => {
    const [postgres, kafka, temporal] = await Promise.allSettled([
      within(ping(deps.sql), 2000),
      within(deps.admin.describeCluster(), 2000),
      within(deps.temporal.workflowService.getSystemInfo({}), 2000),
    ])
    return { postgres: postgres.status === 'fulfilled', kafka: kafka.status === 'fulfilled', temporal: temporal.status === 'fulfilled' }
  }
}
