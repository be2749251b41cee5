import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { LOCAL } from '../../lib/local-stack.ts'
import { waitUntil } from '../../lib/wait.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const BUN = process.execPath
const LOGS = join(ROOT, '.stack', 'logs')

/**
 * The embedded default: when no API is configured, the simulation brings up the local
 * stack and the three processes itself, and stops everything it started when it ends
 * (unless `--keep`: then main.ts calls `keep` instead, and says how to stop them).
 */
export async function startEmbedded(say: (m: string) => void) {
  const started: Array<{ name: string; proc: ChildProcess }> = []
  const stackWasUp = spawnSync(BUN, ['stack/cli.ts', 'status'], { cwd: ROOT }).status === 0
  if (!stackWasUp) {
    say('bringing up the local stack (PostgreSQL, Kafka, Temporal); the first time downloads them')
    const up = spawnSync(BUN, ['stack/cli.ts', 'up'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
    if (up.status !== 0) throw new Error('`bun run stack up` failed (see above)')
  }
  mkdirSync(LOGS, { recursive: true })
  const launch = (name: string, cmd: string, args: string[], env: Record<string, string> = {}) => {
    const out = openSync(join(LOGS, `${name}.log`), 'a')
    // Own process group: a Ctrl-C at the terminal reaches only `simulate`, which then
    // closes the polls and stops these processes itself, in order.
    const proc = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...env } })
    started.push({ name, proc })
    return proc
  }
  const stop = async () => {
    await Promise.all(
      started.map(
        ({ proc }) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
            const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
            proc.on('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            proc.kill('SIGTERM')
          }),
      ),
    )
    if (!stackWasUp) spawnSync(BUN, ['stack/cli.ts', 'down'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] })
  }
  try {
    const apiUp = await healthy(`http://127.0.0.1:${LOCAL.api.port}/healthz`, 500)
    if (!apiUp) {
      say('building the worker')
      const build = spawnSync(BUN, ['services/worker/build.ts'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
      if (build.status !== 0) throw new Error('the worker did not build')
      say('starting the tally service, the worker and the API (logs in .stack/logs/)')
      launch('tally', BUN, ['services/tally/main.ts'])
      launch('worker', 'node', ['.build/worker/main.js'], { WORKFLOW_BUNDLE: '.build/worker/workflow-bundle.js' })
      launch('api', BUN, ['services/api/main.ts'])
      const ok = await healthy(`http://127.0.0.1:${LOCAL.api.port}/healthz`, 60_000)
      const tallyOk = await healthy(`http://127.0.0.1:${LOCAL.tallyMetrics.port}/healthz`, 60_000)
      if (!ok || !tallyOk) throw new Error('the services did not become healthy; see .stack/logs/{api,tally,worker}.log')
    }
  } catch (err) {
    // Half a start is no use to anyone: stop what this run started before saying why.
    await stop()
    throw err
  }
  return {
    apiUrl: `http://127.0.0.1:${LOCAL.api.port}`,
    /** What this run started: the processes (none when the API was already up) and whether the stack. */
    started: {
      services: started.flatMap(({ name, proc }) => (proc.pid === undefined ? [] : [{ name, pid: proc.pid }])),
      stack: !stackWasUp,
    },
    /** Stops what this run started, in order: the processes, then the stack. */
    stop,
    /** Leaves what this run started running after it exits (`--keep`): nothing of it waits on them. */
    keep() {
      for (const { proc } of started) proc.unref()
    },
  }
}

/** Whether `url` answers 200 within `timeoutMs`. */
const healthy = (url: string, timeoutMs: number) => waitUntil(async () => (await fetch(url)).ok, timeoutMs)
