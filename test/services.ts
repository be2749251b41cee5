import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT } from './helpers.ts'

/** The API as a real process under Bun. */
export async function startApi(options: { port: number; taskQueue: string; name?: string }) {
  const name = options.name ?? `api-${options.port}`
  mkdirSync(join(ROOT, 'test-results'), { recursive: true })
  const out = createWriteStream(join(ROOT, 'test-results', `${name}.log`))
  const proc: ChildProcess = spawn(BUN, ['services/api/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      API_PORT: String(options.port),
      API_PUBLIC_URL: `http://127.0.0.1:${options.port}`,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout?.pipe(out)
  proc.stderr?.pipe(out)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${options.port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start; see test-results/${name}.log`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      return exited
    },
  }
}

/** Reads server-sent events from a URL until `until` says stop; returns the last data. */
export async function followSse<T>(url: string, until: (data: T) => boolean, timeoutMs: number): Promise<{ last: T; events: number }> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  const res = await fetch(url, { signal: controller.signal })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let events = 0
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the stream ended')
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n')
        buffer = buffer.slice(end + 2)
        if (!data) continue
        events++
        const parsed = JSON.parse(data) as T
        if (until(parsed)) return { last: parsed, events }
      }
    }
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}
