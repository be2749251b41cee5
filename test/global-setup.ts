import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * Brings the real local stack up once for the whole run (it is idempotent: seconds when
 * already up) and stops it afterwards only if this run started it. `VOTESTREAM_UNIT=1`
 * skips it for a quick unit-only run.
 */
const ROOT = join(import.meta.dirname, '..')
export const BUN = join(ROOT, 'node_modules', '.bin', 'bun')

export default function setup() {
  if (process.env.VOTESTREAM_UNIT === '1') return
  const before = spawnSync(BUN, ['stack/cli.ts', 'status'], { cwd: ROOT, encoding: 'utf8' })
  const up = spawnSync(BUN, ['stack/cli.ts', 'up'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
  if (up.status !== 0) throw new Error('`bun run stack up` failed; see the output above')
  const env = spawnSync(BUN, ['stack/cli.ts', 'env'], { cwd: ROOT, encoding: 'utf8' })
  for (const line of env.stdout.split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line)
    if (m?.[1] && m[2] !== undefined) process.env[m[1]] = m[2].replace(/^'(.*)'$/, '$1')
  }
  // A standby left running (`stack up --standby`) is for the test that asks for it: the
  // other tests read what they just wrote, from the primary.
  delete process.env.DATABASE_READ_URL
  const startedHere = before.status !== 0
  return () => {
    if (startedHere && process.env.VOTESTREAM_KEEP_STACK !== '1') {
      spawnSync(BUN, ['stack/cli.ts', 'down'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    }
  }
}
