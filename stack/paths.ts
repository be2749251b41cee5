import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { STACK_CONFIG } from './config.ts'

/** The repository root and the git-ignored folder where the local stack keeps everything. */
export const ROOT = resolve(import.meta.dirname, '..')
export const STACK_DIR = STACK_CONFIG.VOTESTREAM_STACK_DIR ?? join(ROOT, '.stack')
export const LOG_DIR = join(STACK_DIR, 'logs')
export const RUN_DIR = join(STACK_DIR, 'run')
export const TOOLS_DIR = join(STACK_DIR, 'tools')

export const logFile = (name: string) => join(LOG_DIR, `${name}.log`)
export const pidFile = (name: string) => join(RUN_DIR, `${name}.pid`)

/**
 * PostgreSQL refuses to run as root, so it runs as the `postgres` user, which must be
 * able to reach its data directory. A checkout under /root is not reachable, so the
 * data then lives under /var/tmp, in a folder named after this checkout.
 */
export function postgresDataDir(): string {
  if (everyAncestorTraversable(STACK_DIR)) return join(STACK_DIR, 'postgres', 'data')
  const id = createHash('sha1').update(STACK_DIR).digest('hex').slice(0, 10)
  return join('/var/tmp', `votestream-${id}`, 'postgres', 'data')
}

/** The hot standby's data directory (`bun run stack up --standby`), beside the primary's. */
export function postgresStandbyDir(): string {
  return join(dirname(postgresDataDir()), 'standby')
}

function everyAncestorTraversable(dir: string): boolean {
  for (let d = dirname(dir); ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false
    } catch {
      return false
    }
    if (d === dirname(d)) return true
  }
}
