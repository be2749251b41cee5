import { spawn } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { waitUntil } from '../lib/wait.ts'
import { LOG_DIR, logFile, pidFile, RUN_DIR, STACK_DIR } from './paths.ts'

/**
 * Processes of the stack run detached from the command that started them, with their
 * output in `.stack/logs/<name>.log` and their pid in `.stack/run/<name>.pid`. A pid only
 * counts as ours while its command line still names this stack's folder, so a recycled
 * pid is never signalled.
 */

export function readPid(name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(name), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

export function isOurs(pid: number, marker = STACK_DIR): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && cmdline.includes(marker)
  } catch {
    return false
  }
}

/** The pid of the stack's process `name` if it is alive, else undefined. */
export function runningPid(name: string, marker?: string): number | undefined {
  const pid = readPid(name)
  return pid !== undefined && isOurs(pid, marker) ? pid : undefined
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  uid?: number
  gid?: number
}

/**
 * Starts `name` detached and returns once its command line shows `marker`: right after
 * spawning, /proc may still show the parent's command line, and a check made then would
 * take the new process for a dead one (seen as a spurious "did not start").
 */
export async function spawnDetached(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { marker?: string } = {},
): Promise<number> {
  mkdirSync(LOG_DIR, { recursive: true })
  mkdirSync(RUN_DIR, { recursive: true })
  const out = openSync(logFile(name), 'a')
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
  })
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command}`)
  child.unref()
  writeFileSync(pidFile(name), `${child.pid}\n`)
  const pid = child.pid
  await waitUntil(() => isOurs(pid, options.marker) || !existsSync(`/proc/${pid}`), 10_000, 20)
  return pid
}

/** Asks the process to stop, waits, and kills it if it will not. */
export async function stopProcess(name: string, signal: NodeJS.Signals = 'SIGTERM', marker?: string): Promise<boolean> {
  const pid = runningPid(name, marker)
  if (pid === undefined) {
    rmSync(pidFile(name), { force: true })
    return false
  }
  process.kill(pid, signal)
  const stopped = await waitUntil(() => !isOurs(pid, marker), 30_000)
  if (!stopped) {
    process.kill(pid, 'SIGKILL')
    await waitUntil(() => !isOurs(pid, marker), 5_000)
  }
  rmSync(pidFile(name), { force: true })
  return true
}

/** Runs a command to completion, streaming nothing; returns its exit code and output. */
export async function run(command: string, args: string[], options: SpawnOptions = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, cwd: options.cwd })
    let output = ''
    child.stdout?.on('data', (c) => {
      output += c
    })
    child.stderr?.on('data', (c) => {
      output += c
    })
    child.on('error', (err) => resolvePromise({ code: 127, output: String(err) }))
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }))
  })
}

export function tailFile(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
  } catch {
    return ''
  }
}

export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = `${dir}/${command}`
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // keep looking
    }
  }
  return undefined
}
