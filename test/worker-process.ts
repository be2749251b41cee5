import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT } from './helpers.ts'

/** Builds the worker as `bun run worker` does (once per test file). */
export function buildWorker() {
  const r = spawnSync(BUN, ['services/worker/build.ts'], { cwd: ROOT, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`worker build failed:\n${r.stderr}`)
}

/** The real worker process on Node, polling `taskQueue`. */
export function startWorker(taskQueue: string, name = 'worker') {
  mkdirSync(join(ROOT, 'test-results'), { recursive: true })
  const out = createWriteStream(join(ROOT, 'test-results', `${name}.log`), { flags: 'a' })
  const proc: ChildProcess = spawn('node', ['.build/worker/main.js'], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: '.build/worker/workflow-bundle.js', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout?.pipe(out)
  proc.stderr?.pipe(out)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return {
    proc,
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
export type WorkerProcess = ReturnType<typeof startWorker>
