import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createKafka } from '../lib/kafka.ts'
import { BUN, ROOT, testSql } from './helpers.ts'

const run = promisify(execFile)
const stack = async (...args: string[]) => {
  try {
    const { stdout } = await run(BUN, ['stack/cli.ts', ...args], { cwd: ROOT, timeout: 240_000 })
    return { code: 0, stdout }
  } catch (err) {
    const e = err as { code?: number; stdout?: string }
    return { code: e.code ?? 1, stdout: e.stdout ?? '' }
  }
}
const pidOf = (name: string) => Number(readFileSync(join(ROOT, '.stack', 'run', `${name}.pid`), 'utf8'))
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

let sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))

describe('the local stack after a kill -9', () => {
  it('reports the killed service down, and `up` brings it back with its Postgres rows and Kafka messages', async () => {
    const marker = randomUUID()
    await sql`create table if not exists stack_recovery_markers (marker text primary key)`
    await sql`insert into stack_recovery_markers values (${marker})`
    const producer = createKafka({ brokers, clientId: 'recovery' }).producer()
    await producer.connect()
    const [sent] = await producer.send({ topic: 'results', acks: -1, messages: [{ key: 'recovery', value: marker }] })
    await producer.disconnect()

    for (const name of ['postgres', 'kafka', 'temporal']) {
      process.kill(pidOf(name), 'SIGKILL')
      await new Promise((r) => setTimeout(r, 500))
      const status = await stack('status')
      expect(status.code, `status after killing ${name}`).toBe(1)
      expect(status.stdout).toMatch(new RegExp(`^${name}\\s+down`, 'm'))
      const up = await stack('up')
      expect(up.code, `up after killing ${name}`).toBe(0)
      expect(up.stdout).toMatch(new RegExp(`^${name}\\s+healthy`, 'm'))
    }

    await sql.end({ timeout: 1 })
    sql = testSql()
    const [row] = await sql<{ marker: string }[]>`select marker from stack_recovery_markers where marker = ${marker}`
    expect(row?.marker).toBe(marker)
    const consumer = createKafka({ brokers, clientId: 'recovery' }).consumer({ groupId: `recovery-${marker}` })
    await consumer.connect()
    await consumer.subscribe({ topic: 'results', fromBeginning: false })
    const found = new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => (message.value?.toString() === marker ? resolve(marker) : undefined) })
    })
    consumer.seek({ topic: 'results', partition: sent?.partition ?? 0, offset: sent?.baseOffset ?? '0' })
    expect(await found).toBe(marker)
    await consumer.disconnect()
  }, 600_000)
})
