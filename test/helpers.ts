import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createSql, type Sql } from '../lib/db/sql.ts'
import { LOCAL_DATABASE_URL } from '../lib/local-stack.ts'

export const ROOT = join(import.meta.dirname, '..')
export const BUN = join(ROOT, 'node_modules', '.bin', 'bun')

/** Runs a script under Bun and parses the JSON it prints last. */
export async function runBunJson<T>(script: string, args: string[] = [], timeoutMs = 60_000): Promise<T> {
  const { stdout } = await promisify(execFile)(BUN, [script, ...args], { cwd: ROOT, timeout: timeoutMs, env: process.env })
  const last = stdout.trim().split('\n').pop() ?? ''
  return JSON.parse(last) as T
}

export function testSql(): Sql {
  return createSql(process.env.DATABASE_URL ?? LOCAL_DATABASE_URL, { max: 4, applicationName: 'votestream-test' })
}
