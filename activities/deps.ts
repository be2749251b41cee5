import type { Client } from '@temporalio/client'
import type { Admin, Producer } from 'kafkajs'
import type { Sql } from '../lib/db/sql.ts'

/** What activities need from the outside world; the worker builds it once. */
export interface ActivityDeps {
  sql: Sql
  producer: Producer
  admin: Admin
  temporal: Client
  taskQueue: string
  /** The tally service's consumer group: its stored offsets say how far counting got. */
  tallyGroupId: string
}
