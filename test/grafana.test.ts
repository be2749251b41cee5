import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MockActivityEnvironment } from '@temporalio/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { ActivityDeps } from '../activities/deps.ts'
import { createRaceCallActivities } from '../activities/race-calls.ts'
import { createTallyActivities } from '../activities/tallies.ts'
import { encodeBallot } from '../domain/ballot.ts'
import { defaultPlan, Simulation } from '../domain/simulation.ts'
import { type ColumnKind, DATASOURCE, dashboards, fileName, toGrafanaJson } from '../grafana/dashboards.ts'
import { createSimulatedElection, createSimulatedRoll, setElectionStatus } from '../lib/db/elections.ts'
import { LOCAL } from '../lib/local-stack.ts'
import { countBatch } from '../services/tally/count-batch.ts'
import { ROOT, testSql } from './helpers.ts'

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))
const GRAFANA = join(ROOT, 'grafana')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Grafana's PostgreSQL macros and the dashboard variable, expanded the way Grafana does. */
function expand(rawSql: string, vars: { election: string; state: string; from: Date; to: Date }): string {
  const seconds = (interval: string) => {
    const m = /^'?(\d+)([smhd])'?$/.exec(interval.trim())
    if (!m) throw new Error(`unsupported interval ${interval}`)
    return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd']
  }
  return rawSql
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, col) => `${col} BETWEEN '${vars.from.toISOString()}' AND '${vars.to.toISOString()}'`)
    .replace(
      /\$__timeGroupAlias\(([^,]+),([^)]+)\)/g,
      (_, col, iv) => `floor(extract(epoch from ${col})/${seconds(iv)})*${seconds(iv)} AS "time"`,
    )
    .replace(/\$__timeFrom\(\)/g, `'${vars.from.toISOString()}'`)
    .replace(/\$__timeTo\(\)/g, `'${vars.to.toISOString()}'`)
    .replace(/\$\{election\}|\$election\b/g, vars.election)
    .replace(/\$\{state\}|\$state\b/g, vars.state)
}

function kindOf(v: unknown): ColumnKind | 'null' | 'other' {
  if (v === null) return 'null'
  if (v instanceof Date) return 'time'
  if (typeof v === 'number' || typeof v === 'bigint') return 'number'
  if (typeof v === 'string') return /^-?\d+(\.\d+)?$/.test(v) ? 'number' : 'text'
  return 'other'
}

describe('the dashboards as code', () => {
  it('match the committed JSON that provisioning loads (run `bun run grafana:build` after a change)', () => {
    for (const d of dashboards) {
      const committed = JSON.parse(read(`grafana/dashboards/${fileName(d)}`))
      expect(committed, fileName(d)).toEqual(toGrafanaJson(d))
    }
  })

  it('refresh every 5 seconds and choose the election with a variable', () => {
    for (const d of dashboards) {
      const json = toGrafanaJson(d) as { refresh: string; templating: { list: Array<{ name: string }> } }
      expect(json.refresh).toBe('5s')
      expect(json.templating.list.map((v) => v.name)).toContain('election')
    }
  })

  it('drill down from states to the regions of one state on the turnout dashboard', () => {
    const turnout = dashboards.find((d) => d.uid === 'votestream-turnout')
    const json = toGrafanaJson(turnout!) as {
      templating: { list: Array<{ name: string; includeAll?: boolean }> }
      panels: Array<{ title: string; fieldConfig?: { defaults?: { links?: Array<{ url: string }> } } }>
    }
    expect(json.templating.list.find((v) => v.name === 'state')).toMatchObject({ includeAll: true })
    const states = json.panels.find((p) => p.title.startsWith('States'))
    expect(states?.fieldConfig?.defaults?.links?.[0]?.url).toMatch(/var-state=\$\{__data\.fields\.state\}/)
    // The map colours each region by its leader: thresholds on the leader's candidate index.
    const map = json.panels.find((p) => p.title.startsWith('Map')) as unknown as {
      options: { layers: Array<{ config: { color?: { field: string } } }> }
      fieldConfig: { defaults: { color: { mode: string }; thresholds: { steps: unknown[] } } }
    }
    expect(map.options.layers[0]?.config.color?.field).toBe('leader index')
    expect(map.fieldConfig.defaults.color.mode).toBe('thresholds')
    expect(map.fieldConfig.defaults.thresholds.steps).toHaveLength(1 + 12) // no leader, then 12 candidates at most
    // Every region panel of that dashboard follows the variable.
    for (const p of turnout!.panels.filter((p) => !p.title.startsWith('States'))) expect(p.sql, p.title).toMatch(/\$\{state\}/)
  })
})

describe('every panel query against the real schema after an election', () => {
  let election = ''
  let state = ''
  beforeAll(async () => {
    const plan = defaultPlan(`grafana-${Date.now().toString(36)}`, {
      seed: 7,
      voters: 3000,
      turnout: 0.8,
      invalidShare: 0.05,
      duplicateShare: 0.02,
    })
    election = plan.electionId
    // The drill-down panels run for one state (the `state` variable), which must have rows.
    state = plan.regions[0]?.state ?? ''
    await createSimulatedElection(sql, plan, 'Grafana check')
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, election, 'open')
    const sim = new Simulation(plan)
    const messages = []
    for (let k = 0; k < sim.ballotCount; k++) {
      for (const m of sim.messagesFor(k, new Date().toISOString())) {
        messages.push({
          partition: k % 3,
          offset: String(k),
          value: m.ballot ? encodeBallot(m.ballot) : Buffer.from(m.raw ?? ''),
          electionHeader: election,
        })
      }
    }
    await countBatch(sql, { groupId: `grafana-${election}`, topic: `grafana-${election}`, messages })
    await createTallyActivities({ sql } as ActivityDeps).reconcileElection(election, { final: false })
    // Closed and checked, so the race-call panels have calls to show.
    await setElectionStatus(sql, election, 'closing')
    await setElectionStatus(sql, election, 'closed')
    const calls = createRaceCallActivities({ sql, tallyGroupId: 'tally' } as ActivityDeps)
    await new MockActivityEnvironment().run(() => calls.checkRaceCallsAgainstFinalCount(election))
  })

  const panels = dashboards.flatMap((d) => d.panels.map((p) => ({ dashboard: d.title, ...p })))
  it.each(panels)('$dashboard / $title returns the columns the panel needs', async (panel) => {
    const query = expand(panel.sql, { election, state, from: new Date(Date.now() - 3600_000), to: new Date(Date.now() + 60_000) })
    expect(query).not.toMatch(/\$__|\$\{|\$election/)
    const rows = await sql.unsafe(query)
    expect(rows.length, `${panel.title} returned no rows`).toBeGreaterThan(0)
    for (const [column, kind] of Object.entries(panel.needs)) {
      expect(
        rows.columns.map((c) => c.name),
        panel.title,
      ).toContain(column)
      const kinds = new Set(rows.map((r) => kindOf(r[column])))
      expect([...kinds], `${panel.title}: ${column}`).toEqual([kind])
    }
  })
})

describe('provisioning and the compose file', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, { ports?: string[]; volumes?: string[]; environment?: Record<string, string> }>
  }
  const datasources = parse(read('grafana/provisioning/datasources/votestream.yaml')) as {
    datasources: Array<{
      uid: string
      type: string
      url: string
      user: string
      jsonData: { database: string }
      secureJsonData: { password: string }
    }>
  }
  const providers = parse(read('grafana/provisioning/dashboards/votestream.yaml')) as {
    providers: Array<{ folder: string; options: { path: string } }>
  }

  it('has a datasource every panel references, with credentials taken from the environment Grafana gets', () => {
    const [ds] = datasources.datasources
    expect(ds).toMatchObject({ uid: DATASOURCE.uid, type: DATASOURCE.type })
    const env = compose.services.grafana?.environment ?? {}
    for (const value of [ds!.url, ds!.user, ds!.jsonData.database, ds!.secureJsonData.password]) {
      const name = /^\$\{(\w+)\}$/.exec(value)?.[1]
      expect(name, value).toBeDefined()
      expect(env, `grafana needs ${name}`).toHaveProperty(name!)
    }
    for (const d of dashboards)
      for (const p of toGrafanaJson(d).panels as Array<{ datasource: { uid: string } }>) expect(p.datasource.uid).toBe(ds!.uid)
  })

  it('mounts the provisioning where Grafana reads it and the dashboards where the provider looks', () => {
    const volumes = compose.services.grafana?.volumes ?? []
    expect(volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro')
    const [provider] = providers.providers
    expect(provider?.folder).toBe('VoteStream')
    expect(volumes).toContain(`./grafana/dashboards:${provider?.options.path}:ro`)
    const home = compose.services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? ''
    expect(readFileSync(join(GRAFANA, 'dashboards', home.split('/').pop() ?? '')).length).toBeGreaterThan(0)
  })

  it('names every service the README mentions, and exposes only the API and Grafana beyond the host', () => {
    const readme = read('README.md')
    for (const name of ['postgres', 'kafka', 'temporal', 'grafana', 'api', 'tally', 'worker']) {
      expect(Object.keys(compose.services)).toContain(name)
      expect(readme.toLowerCase()).toContain(name)
    }
    const ports = (s: string) => compose.services[s]?.ports ?? []
    expect(ports('postgres')).toEqual([`127.0.0.1:${LOCAL.postgres.port}:5432`])
    expect(ports('kafka')).toEqual([])
    expect(ports('tally')).toEqual([])
    expect(ports('worker')).toEqual([])
    expect(ports('temporal')).toEqual([`127.0.0.1:${LOCAL.temporal.port}:7233`, `127.0.0.1:${LOCAL.temporal.uiPort}:8233`])
    expect(ports('api')).toEqual([`${LOCAL.api.port}:3000`])
    // Everything published on all interfaces is the API or Grafana.
    const open = Object.entries(compose.services).flatMap(([name, svc]) =>
      ((svc as { ports?: string[] }).ports ?? []).filter((p) => !p.startsWith('127.0.0.1:')).map(() => name),
    )
    expect(open.sort()).toEqual(['api', 'grafana'])
  })
})
