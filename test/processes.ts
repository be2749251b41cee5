import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { waitUntil } from '../lib/wait.ts'
import { BUN, ROOT } from './helpers.ts'

/**
 * A real process of the project, started as production starts it, with its output in
 * test-results/<name>.log. `stop` is a SIGTERM (a graceful shutdown), `kill` a SIGKILL.
 */
export function startProcess(name: string, command: string, args: string[], env: Record<string, string>) {
  mkdirSync(join(ROOT, 'test-results'), { recursive: true })
  const out = createWriteStream(join(ROOT, 'test-results', `${name}.log`), { flags: 'a' })
  const proc: ChildProcess = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout?.pipe(out)
  proc.stderr?.pipe(out)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return {
    proc,
    /** Waits until `url` answers 200; fails at once if the process exits first. */
    async waitHealthy(url: string, timeoutMs = 60_000) {
      const ok = await waitUntil(async () => proc.exitCode !== null || (await fetch(url)).ok, timeoutMs, 200)
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}; see test-results/${name}.log`)
      if (!ok) throw new Error(`${name} did not become healthy in ${timeoutMs} ms; see test-results/${name}.log`)
    },
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      return exited
    },
    kill: async () => {
      proc.kill('SIGKILL')
      return exited
    },
  }
}

let nextTallyPort = 19_460

/** The tally service under Bun. */
export function startTally(options: { group?: string; name?: string; port?: number; env?: Record<string, string> } = {}) {
  const port = options.port ?? nextTallyPort++
  const url = `http://127.0.0.1:${port}`
  const p = startProcess(options.name ?? `tally-${port}`, BUN, ['services/tally/main.ts'], {
    TALLY_GROUP_ID: options.group ?? 'tally',
    TALLY_METRICS_PORT: String(port),
    LOG_LEVEL: 'info',
    ...options.env,
  })
  return {
    ...p,
    url,
    waitHealthy: (timeoutMs?: number) => p.waitHealthy(`${url}/healthz`, timeoutMs),
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
  }
}
export type TallyProcess = ReturnType<typeof startTally>

/** The API under Bun, healthy when returned. */
export async function startApi(options: { port: number; taskQueue: string; name?: string; env?: Record<string, string> }) {
  const url = `http://127.0.0.1:${options.port}`
  const p = startProcess(options.name ?? `api-${options.port}`, BUN, ['services/api/main.ts'], {
    API_PORT: String(options.port),
    API_PUBLIC_URL: url,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    API_METRICS_PORT: String(options.port + 1000),
    LOG_LEVEL: 'info',
    ...options.env,
  })
  await p.waitHealthy(`${url}/healthz`)
  return { ...p, url }
}

/** Builds the worker as `bun run worker` does (once per test file). */
export function buildWorker() {
  const r = spawnSync(BUN, ['services/worker/build.ts'], { cwd: ROOT, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`worker build failed:\n${r.stderr}`)
}

/** The Temporal worker on Node, polling `taskQueue` (build it first with buildWorker). */
export function startWorker(taskQueue: string, name = 'worker') {
  return startProcess(name, 'node', ['.build/worker/main.js'], {
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKFLOW_BUNDLE: '.build/worker/workflow-bundle.js',
    LOG_LEVEL: 'info',
  })
}
export type WorkerProcess = ReturnType<typeof startWorker>
