import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MockActivityEnvironment } from '@temporalio/testing'
import type postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { createCertifyActivities } from '../activities/certify.ts'
import type { ActivityDeps } from '../activities/deps.ts'
import { createRaceCallActivities } from '../activities/race-calls.ts'
import { createTallyActivities } from '../activities/tallies.ts'
import { CHANNELS, encodeBallot } from '../domain/ballot.ts'
import { contestResults, isSmallCell } from '../domain/contest-results.ts'
import { defaultPlan, Simulation, type SimulationPlan } from '../domain/simulation.ts'
import {
  ALL_STATES,
  CONTEST,
  type ColumnKind,
  DATASOURCE,
  dashboards,
  ELECTION,
  fileName,
  STATE,
  toGrafanaJson,
} from '../grafana/dashboards.ts'
import { type ConsumedMessage, countBatch } from '../lib/counting/count-batch.ts'
import { mixBallotBox } from '../lib/db/ballot-box.ts'
import { readContestCounts } from '../lib/db/contest-results.ts'
import { loadDefinitions } from '../lib/db/contests.ts'
import { createSimulatedElection, createSimulatedRoll, getElection, setElectionStatus } from '../lib/db/elections.ts'
import { releaseCounts } from '../lib/db/results-release.ts'
import { GRAFANA_ROLE } from '../lib/db/roles.ts'
import { LOCAL } from '../lib/local-stack.ts'
import { ROOT, testSql } from './helpers.ts'

/** The long-ballot election's smallest public cell: not the default 10 (see where it is created). */
const CONTEST_MIN_CELL = 12

const sql = testSql()
afterAll(() => sql.end({ timeout: 5 }))
const GRAFANA = join(ROOT, 'grafana')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Grafana's value of a variable set to "All". */
const ALL = '$__all'

/** What `expand` needs of a dashboard variable (as in the JSON's templating list). */
interface Variable {
  name: string
  includeAll?: boolean
  allValue?: string
}

/**
 * Grafana's `${var:sqlstring}`: one SQL string literal, ' doubled and " turned into \"
 * (grafana/scenes, formatRegistry.ts, sqlStringFormatter).
 */
const sqlString = (value: string) => `'${value.replace(/['"]/g, (c) => (c === "'" ? "''" : '\\"'))}'`

/**
 * A panel's query as Grafana 12 sends it to PostgreSQL: the dashboard variables first (in the
 * browser; grafana/scenes sceneInterpolator.ts), then the macros (in the datasource's backend).
 * Only `${name:sqlstring}` is modelled; any other variable form throws, since Grafana renders
 * it differently by the variable's kind (the PostgreSQL datasource's default quotes a
 * multi-value or include-All value, 'Ohio', and leaves others bare) and a test that guessed
 * would pass a panel Grafana breaks (issue 23).
 */
function expand(
  rawSql: string,
  variables: Variable[],
  values: Record<string, string>,
  range: { from: Date; to: Date } = { from: new Date(Date.now() - 3600_000), to: new Date(Date.now() + 60_000) },
): string {
  const macros = new Set(['__timeFilter', '__timeGroupAlias', '__timeFrom', '__timeTo'])
  // The three syntaxes Grafana recognises: $name, [[name:format]] and ${name.path:format}.
  const reference = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)([^:}]*)(?::([^}]+))?\}/g
  const interpolate = (text: string): string =>
    text.replace(reference, (match, bare, bracketed, _bracketFormat, braced, path, format) => {
      if (bare && macros.has(bare)) return match
      const variable = variables.find((v) => v.name === braced)
      const value = variable ? values[variable.name] : undefined
      if (!variable || value === undefined || path || format !== 'sqlstring' || bracketed)
        throw new Error(`${match}: not modelled; write \${name:sqlstring} for a dashboard variable`)
      if (value !== ALL) return sqlString(value)
      // A custom all value goes in as it is, whatever the format, then is interpolated itself.
      if (!variable.includeAll || variable.allValue === undefined) throw new Error(`${match}: "All" without a custom all value`)
      return interpolate(variable.allValue)
    })
  const seconds = (interval: string) => {
    const m = /^'?(\d+)([smhd])'?$/.exec(interval.trim())
    if (!m) throw new Error(`unsupported interval ${interval}`)
    return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd']
  }
  const query = interpolate(rawSql)
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, col) => `${col} BETWEEN '${range.from.toISOString()}' AND '${range.to.toISOString()}'`)
    .replace(
      /\$__timeGroupAlias\(([^,]+),([^)]+)\)/g,
      (_, col, iv) => `floor(extract(epoch from ${col})/${seconds(iv)})*${seconds(iv)} AS "time"`,
    )
    .replace(/\$__timeFrom\(\)/g, `'${range.from.toISOString()}'`)
    .replace(/\$__timeTo\(\)/g, `'${range.to.toISOString()}'`)
  const left = /\$__\w+/.exec(query)
  if (left) throw new Error(`${left[0]}: a macro not modelled`)
  return query
}

/** The dashboard's variables, as Grafana loads them. */
const variablesOf = (d: (typeof dashboards)[number]) =>
  (toGrafanaJson(d) as { templating: { list: Array<Variable & { query: string }> } }).templating.list

function kindOf(v: unknown): ColumnKind | 'null' | 'other' {
  if (v === null) return 'null'
  if (v instanceof Date) return 'time'
  if (typeof v === 'number' || typeof v === 'bigint') return 'number'
  if (typeof v === 'string') return /^-?\d+(\.\d+)?$/.test(v) ? 'number' : 'text'
  return 'other'
}

/**
 * Counts every message a simulated election generates in one batch, each at a position of
 * its own as Kafka gives them (a ballot's second attempt put at its first attempt's
 * position was counted as a ballot of its own), on a topic named after the election.
 */
async function countSimulation(plan: SimulationPlan) {
  const sim = new Simulation(plan)
  const messages: ConsumedMessage[] = []
  for (let k = 0; k < sim.ballotCount; k++) {
    for (const m of sim.messagesFor(k, new Date().toISOString())) {
      const n = messages.length
      messages.push({
        partition: n % 3,
        offset: String(Math.floor(n / 3)),
        value: m.ballot ? encodeBallot(m.ballot) : Buffer.from(m.raw ?? ''),
        electionHeader: plan.electionId,
      })
    }
  }
  await countBatch(sql, { groupId: `grafana-${plan.electionId}`, topic: `grafana-${plan.electionId}`, messages })
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
    for (const p of turnout!.panels.filter((p) => !p.title.startsWith('States'))) expect(p.sql, p.title).toMatch(/\$\{state:sqlstring\}/)
  })

  it('choose a contest of the election on the results dashboard, and read contests only through the views that suppress small cells', () => {
    const results = dashboards.find((d) => d.uid === 'votestream-results')!
    const contest = variablesOf(results).find((v) => v.name === 'contest')
    expect(contest?.query).toMatch(/from contests where election_id = \$\{election:sqlstring\} order by position/)
    const contestPanels = results.panels.filter((p) => p.sql.includes(CONTEST))
    expect(contestPanels.length).toBeGreaterThanOrEqual(4)
    for (const p of contestPanels) {
      expect(p.sql, p.title).toContain(`election_id = ${ELECTION}`)
      expect(p.sql, p.title).toMatch(/from (contest_results|contest_totals|rcv_rounds) /)
    }
    // The rounds through their suppressing view, never the stored tallies or the rankings.
    expect(contestPanels.some((p) => p.onlyRanked && /from rcv_rounds /.test(p.sql))).toBe(true)
    // The bar gauge, the ballots, the table by state and the measure against its threshold.
    expect(contestPanels.some((p) => p.onlyMeasures && /threshold/.test(p.sql))).toBe(true)
    expect(contestPanels.some((p) => /group by state/.test(p.sql))).toBe(true)
    // The counts themselves (unsuppressed) stay out of every dashboard.
    for (const d of dashboards)
      for (const p of d.panels)
        expect(p.sql, `${d.title} / ${p.title}`).not.toMatch(/\bcontest_(counts|ballots)\b|style_counts|rcv_round_tallies|rcv_rankings/)
  })
})

describe('expand, as Grafana 12 interpolates the forms the panels use', () => {
  const variables: Variable[] = [{ name: 'election' }, { name: 'state', includeAll: true, allValue: ALL_STATES }]
  const values = { election: 'e-1', state: "Hawai'i" }

  it('renders a sqlstring variable as one literal, quotes doubled, and "All" as the custom all value', () => {
    expect(expand(`select ${ELECTION}, ${STATE}`, variables, values)).toBe(`select 'e-1', 'Hawai''i'`)
    expect(expand(`select ${STATE}`, variables, { ...values, state: ALL })).toBe(`select ${ALL_STATES}`)
  })

  it('refuses every other form, so a panel written the broken way fails', () => {
    // The first is the form of issue 23: Grafana sent ''Ohio'' for it.
    const forms = [
      `'\${state}'`,
      '$state',
      '[[state]]',
      `\${state:raw}`,
      `'\${state:singlequote}'`,
      `\${state.x:sqlstring}`,
      `\${nope:sqlstring}`,
    ]
    for (const form of forms) expect(() => expand(`select ${form}`, variables, values), form).toThrow(/not modelled/)
  })
})

describe('every panel query against the real schema after an election', () => {
  // A state whose name holds a quote: the panels must pass it to PostgreSQL as one literal.
  const QUOTED_STATE = "Hawai'i"
  let election = ''
  let plainState = ''
  // Region name → state, for panels that show the region only (names are unique in this plan).
  const stateOfRegion = new Map<string, string>()
  // An election with a ballot definition (a long ballot), for the contest panels: many small
  // regions, so that small cells are suppressed (and some of their neighbours with them).
  let contestElection = ''
  // The contests the contest panels run for: the candidate contest and the measure that
  // cover the most regions.
  // And the ranked-choice contest with the most ballots ranking anyone (for the rounds panel).
  const contestOf: Record<'candidate' | 'measure' | 'ranked', string> = { candidate: '', measure: '', ranked: '' }
  async function createContestElection() {
    const plan = defaultPlan(
      `grafana-lb-${Date.now().toString(36)}`,
      { seed: 7, voters: 2000, turnout: 0.8, invalidShare: 0.05, duplicateShare: 0.02, contests: true },
      { regions: 20 },
    )
    contestElection = plan.electionId
    // At a smallest public cell other than the default, so that the view's rule is checked
    // at the election's own minimum, not at a 10 it might still hard-code.
    await createSimulatedElection(sql, plan, 'Grafana check, long ballot', {}, { minCellBallots: CONTEST_MIN_CELL })
    expect((await getElection(sql, plan.electionId)).minCellBallots).toBe(CONTEST_MIN_CELL)
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, contestElection, 'open')
    await countSimulation(plan)
    // Released to the public as the results publisher does with a step of one ballot
    // (a step of 1): the panels read only released counts while counting.
    await releaseCounts(sql, contestElection, 1)
    const widest = await sql<{ id: string; kind: 'candidate' | 'measure'; ranked: boolean }[]>`
      select c.id, c.kind, c.rcv is not null as ranked from contests c
      where c.election_id = ${contestElection}
      order by (select count(*) from contest_regions r where r.election_id = c.election_id and r.contest_id = c.id) desc, c.position`
    for (const kind of ['candidate', 'measure'] as const) contestOf[kind] = widest.find((c) => c.kind === kind && !c.ranked)?.id ?? ''
    // The rounds panel reads what the workflow's call activity stores from the mixed ballots.
    await mixBallotBox(sql)
    const calls = createRaceCallActivities({ sql, tallyGroupId: 'tally' } as ActivityDeps)
    await new MockActivityEnvironment().run(() => calls.decideContestCalls(contestElection))
    const [ranked] = await sql<{ contestId: string }[]>`
      select contest_id from rcv_rankings where election_id = ${contestElection} and ranking <> '[]'
      group by 1 order by sum(ballots) desc, 1 limit 1`
    contestOf.ranked = ranked?.contestId ?? ''
  }
  beforeAll(async () => {
    const generated = defaultPlan(`grafana-${Date.now().toString(36)}`, {
      seed: 7,
      voters: 3000,
      turnout: 0.8,
      invalidShare: 0.05,
      duplicateShare: 0.02,
    })
    const states = [...new Set(generated.regions.map((r) => r.state))]
    plainState = states[1] ?? ''
    const plan = { ...generated, regions: generated.regions.map((r) => (r.state === states[0] ? { ...r, state: QUOTED_STATE } : r)) }
    election = plan.electionId
    for (const r of plan.regions) stateOfRegion.set(r.name, r.state)
    await createSimulatedElection(sql, plan, 'Grafana check')
    await createSimulatedRoll(sql, plan)
    await setElectionStatus(sql, election, 'open')
    await countSimulation(plan)
    await createTallyActivities({ sql } as ActivityDeps).reconcileElection(election, { final: false })
    // Closed and checked, so the race-call panels have calls to show.
    await setElectionStatus(sql, election, 'closing')
    await setElectionStatus(sql, election, 'closed')
    const calls = createRaceCallActivities({ sql, tallyGroupId: 'tally' } as ActivityDeps)
    await new MockActivityEnvironment().run(() => calls.checkRaceCallsAgainstFinalCount(election))
    // A checklist run, so the certification panel has items to show.
    const certify = createCertifyActivities({ sql, tallyGroupId: 'tally' } as ActivityDeps)
    await new MockActivityEnvironment().run(() => certify.checkCertification(election, { repaired: 0 }))
    await createContestElection()
  })

  it('has a plain state besides the quoted one, and regions told apart by name', () => {
    expect(plainState).not.toBe('')
    expect(stateOfRegion.size).toBeGreaterThan(1)
    expect([...stateOfRegion.values()]).toContain(QUOTED_STATE)
  })

  it('has a candidate contest and a measure for the contest panels', () => {
    expect(contestOf.candidate).not.toBe('')
    expect(contestOf.measure).not.toBe('')
    expect(contestOf.ranked).not.toBe('')
  })

  // The drill-down panels run for a plain state, the quoted one, and "All"; the contest
  // panels for a candidate contest and a measure of the long-ballot election; the others once.
  const cases = dashboards.flatMap((d) =>
    d.panels.flatMap((p) =>
      p.sql.includes(CONTEST)
        ? (['candidate', 'measure', 'ranked'] as const).map((contest) => ({ dashboard: d, ...p, state: '-', contest }))
        : (p.sql.includes(STATE) ? ['plain', 'quoted', 'All'] : ['-']).map((state) => ({ dashboard: d, ...p, state, contest: '-' })),
    ),
  )
  it.each(cases)('$dashboard.title / $title (state: $state, contest: $contest) returns the columns the panel needs', async (panel) => {
    const state = { plain: plainState, quoted: QUOTED_STATE, All: ALL, '-': ALL }[panel.state] ?? ALL
    const values: Record<string, string> =
      panel.contest === '-'
        ? { election, state }
        : { election: contestElection, state, contest: contestOf[panel.contest as 'candidate' | 'measure' | 'ranked'] }
    const rows = await sql.unsafe(expand(panel.sql, variablesOf(panel.dashboard), values))
    if ((panel.onlyMeasures && panel.contest !== 'measure') || (panel.onlyRanked && panel.contest !== 'ranked')) {
      expect(rows, `${panel.title}: a ${panel.contest} contest has nothing to show here`).toHaveLength(0)
      return
    }
    expect(rows.length, `${panel.title} returned no rows`).toBeGreaterThan(0)
    for (const [column, kind] of Object.entries(panel.needs)) {
      expect(
        rows.columns.map((c) => c.name),
        panel.title,
      ).toContain(column)
      const kinds = new Set(rows.map((r) => kindOf(r[column])))
      // A suppressed cell is NULL, not zero: allowed where the panel says so, never in every row.
      if (panel.nullable?.includes(column as string)) kinds.delete('null')
      expect([...kinds], `${panel.title}: ${column}`).toEqual([kind])
    }
    if (panel.state === '-') return
    // The filter took: the regions shown are those of the state chosen, or of every state.
    const shown = new Set(rows.map((r) => r.state ?? stateOfRegion.get(r.region)))
    expect(shown, panel.title).toEqual(panel.state === 'All' ? new Set(stateOfRegion.values()) : new Set([state]))
  })

  it('lists the election, and its states with the quoted one, from the variable queries', async () => {
    const turnout = dashboards.find((d) => d.uid === 'votestream-turnout')!
    const variables = variablesOf(turnout)
    const query = (name: string) => expand(variables.find((v) => v.name === name)?.query ?? '', variables, { election })
    const elections = await sql.unsafe(query('election'))
    // The first column is the value (__value; the client renames columns).
    expect(elections.map((r) => Object.values(r)[0])).toContain(election)
    const states = await sql.unsafe(query('state'))
    expect(states.map((r) => r.state)).toEqual(expect.arrayContaining([QUOTED_STATE, plainState]))
  })

  it('lists the contests of an election with contests in ballot order, and none for an election of one contest', async () => {
    const results = dashboards.find((d) => d.uid === 'votestream-results')!
    const variables = variablesOf(results)
    const query = variables.find((v) => v.name === 'contest')?.query ?? ''
    const listed = await sql.unsafe(expand(query, variables, { election: contestElection }))
    const contests = await sql<{ id: string }[]>`select id from contests where election_id = ${contestElection} order by position`
    expect(contests.length).toBeGreaterThan(1)
    expect(listed.map((r) => Object.values(r)[0])).toEqual(contests.map((c) => c.id))
    expect(await sql.unsafe(expand(query, variables, { election }))).toHaveLength(0)
    // ...and then the contest panels show nothing (Grafana sends the empty value), without an error.
    for (const p of results.panels.filter((p) => p.sql.includes(CONTEST)))
      expect(await sql.unsafe(expand(p.sql, variables, { election, contest: '' })), p.title).toHaveLength(0)
  })

  /** Reads as Grafana's role does. */
  const asGrafana = <T>(fn: (tx: postgres.TransactionSql) => Promise<T>) =>
    sql.begin(async (tx) => {
      await tx.unsafe(`set local role ${GRAFANA_ROLE}`)
      return fn(tx)
    }) as Promise<T>

  it('suppresses small cells in contest_results and contest_totals as the API does, cell for cell', async () => {
    const definition = (await loadDefinitions(sql, [contestElection])).get(contestElection)
    expect(definition?.contests.length).toBeGreaterThan(1)
    const num = (x: unknown) => (x === null ? null : Number(x))
    let suppressed = 0
    let partners = 0
    let smallContests = 0
    let forSmallCell = 0
    let listed = 0
    for (const rules of definition?.contests ?? []) {
      const counts = await readContestCounts(sql, contestElection, rules.id)
      const api = contestResults({
        electionId: contestElection,
        rules,
        votes: counts.votes,
        ballots: counts.ballots,
        regions: counts.regions,
        calls: counts.calls,
        finished: false,
        // As the API reads it: the election's own.
        minCellBallots: (await getElection(sql, contestElection)).minCellBallots,
      })
      const { cells, totals } = await asGrafana(async (tx) => ({
        cells: await tx`select region_id, region, state, selection_id, votes::float8, ballots::float8, undervotes::float8,
                               overvotes::float8, suppressed
                        from contest_results where election_id = ${contestElection} and contest_id = ${rules.id}`,
        totals: await tx`select selection_id, selection, party, write_in, votes::float8, ballots::float8, undervotes::float8,
                                overvotes::float8, suppressed
                         from contest_totals where election_id = ${contestElection} and contest_id = ${rules.id}
                         order by selection_position`,
      }))
      // By region: the same regions, the same ones suppressed (NULL, not zero), the same counts shown.
      const regions = api.regions.map((r) => r.id)
      const byRegion = regions.map((id) => {
        const rows = cells.filter((c) => c.regionId === id)
        const first = rows[0]
        return {
          id,
          name: first?.region,
          state: first?.state,
          ballots: num(first?.ballots),
          undervotes: num(first?.undervotes),
          overvotes: num(first?.overvotes),
          // A suppressed region: every count NULL, as the API's `votes: null`.
          votes: rows.every((c) => c.votes === null) ? null : Object.fromEntries(rows.map((c) => [c.selectionId, num(c.votes)])),
          suppressed: rows.every((c) => c.suppressed === first?.suppressed) ? first?.suppressed : 'mixed',
        }
      })
      expect(byRegion, rules.id).toEqual(api.regions)
      expect(cells, rules.id).toHaveLength(regions.length * api.selections.length)
      // What suppression protects: the public totals minus the regions shown give back no cell of 1 to CONTEST_MIN_CELL - 1 ballots.
      const small = api.totals.ballots > 0 && api.totals.ballots < CONTEST_MIN_CELL
      const hiddenBallots = api.totals.ballots - api.regions.filter((r) => !r.suppressed).reduce((n, r) => n + (r.ballots ?? 0), 0)
      if (!small)
        expect(hiddenBallots === 0 || hiddenBallots >= CONTEST_MIN_CELL, `${rules.id}: ${hiddenBallots} ballots hidden`).toBe(true)
      const ballotsOf = new Map(counts.regions.map((r) => [r.id, 0]))
      for (const b of counts.ballots) ballotsOf.set(b.regionId, (ballotsOf.get(b.regionId) ?? 0) + b.ballots)
      const cellOf = new Map<string, number>()
      for (const b of counts.ballots) cellOf.set(`${b.regionId}|${b.channel}`, (cellOf.get(`${b.regionId}|${b.channel}`) ?? 0) + b.ballots)
      const holdsSmallCell = (id: string) => CHANNELS.some((ch) => isSmallCell(cellOf.get(`${id}|${ch}`) ?? 0, CONTEST_MIN_CELL))
      listed += api.regions.length
      for (const r of api.regions.filter((r) => r.suppressed)) {
        suppressed++
        if (holdsSmallCell(r.id)) forSmallCell++
        else partners++
      }
      // Every region shown has only empty cells or cells of CONTEST_MIN_CELL ballots or more, and a
      // channel's total minus its shown regions' cells (the hidden regions' cells together) is 0 or CONTEST_MIN_CELL or more.
      expect(
        api.regions.filter((r) => !r.suppressed && holdsSmallCell(r.id)).map((r) => r.id),
        rules.id,
      ).toEqual([])
      for (const ch of CHANNELS) {
        const hiddenInChannel = api.regions.filter((r) => r.suppressed).reduce((n, r) => n + (cellOf.get(`${r.id}|${ch}`) ?? 0), 0)
        // (All of a channel's ballots hidden and fewer than CONTEST_MIN_CELL: the page hides that channel's total itself.)
        const channelShown = api.channels.some((c) => c.channel === ch && !c.suppressed)
        if (!small && channelShown)
          expect(isSmallCell(hiddenInChannel, CONTEST_MIN_CELL), `${rules.id} ${ch}: ${hiddenInChannel} ballots hidden`).toBe(false)
      }
      // The totals: public as the API's, NULL where the API hides them (a contest of 1 to 9 ballots).
      if (small) smallContests++
      expect(
        totals.map((t) => ({ id: t.selectionId, name: t.selection, party: t.party, writeIn: t.writeIn, votes: num(t.votes) })),
        rules.id,
      ).toEqual(api.selections.map((s) => ({ id: s.id, name: s.name, party: s.party, writeIn: s.writeIn, votes: small ? null : s.votes })))
      for (const t of totals) {
        expect(t.suppressed, rules.id).toBe(small)
        expect({ ballots: num(t.ballots), undervotes: num(t.undervotes), overvotes: num(t.overvotes) }, rules.id).toEqual(
          small
            ? { ballots: null, undervotes: null, overvotes: null }
            : { ballots: api.totals.ballots, undervotes: api.totals.undervotes, overvotes: api.totals.overvotes },
        )
      }
    }
    // The election was drawn for it (about 80 ballots a region, split over three channels):
    // regions hidden because a channel of theirs holds 1 to 9 ballots, and others as their partners.
    expect(forSmallCell).toBeGreaterThan(0)
    expect(partners).toBeGreaterThan(0)
    console.log(
      `grafana contest views: ${suppressed} of ${listed} contest regions suppressed (${forSmallCell} for a small channel cell, ${partners} as partners), ${smallContests} contests under ${CONTEST_MIN_CELL} ballots`,
    )
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
