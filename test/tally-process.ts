import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT } from './helpers.ts'

let nextPort = 19_460

/** A real tally service process under Bun, as production runs it. */
export async function startTally(options: { group?: string; name?: string; env?: Record<string, string> } = {}) {
  const port = nextPort++
  const name = options.name ?? `tally-${port}`
  mkdirSync(join(ROOT, 'test-results'), { recursive: true })
  const out = createWriteStream(join(ROOT, 'test-results', `${name}.log`))
  const proc: ChildProcess = spawn(BUN, ['services/tally/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, TALLY_GROUP_ID: options.group ?? 'tally', TALLY_METRICS_PORT: String(port), LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout?.pipe(out)
  proc.stderr?.pipe(out)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`

  async function waitHealthy(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) return
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}; see test-results/${name}.log`)
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error(`${name} did not become healthy in ${timeoutMs} ms`)
  }

  return {
    url,
    proc,
    waitHealthy,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    /** SIGTERM: finish the batch in flight, commit, leave the group. */
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
export type TallyProcess = Awaited<ReturnType<typeof startTally>>
