import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAudit, dropAuditRequest, listAudits, readAudit, readAuditBallotsPage, readAuditRounds } from '../lib/db/audits.ts'
import { createElection, setElectionStatus } from '../lib/db/elections.ts'
import { migrate } from '../lib/db/migrate.ts'
import { API_ROLE, loginRole } from '../lib/db/roles.ts'
import { createSql, type Sql } from '../lib/db/sql.ts'
import { talliesFile } from '../lib/exports/audit-files.ts'
import { LOCAL_DATABASE_URL } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import { LOCAL_ADMIN_TOKEN } from '../services/api/config.ts'
import { ROOT, testSql } from './helpers.ts'
import { startApi } from './processes.ts'
import { followSse } from './sse.ts'

/**
 * The API's own database role (db/migrations/0032_api_role.sql, issue #25 item 5), on the
 * stack's database: the owner (the local user) migrates and lets votestream_api log in with
 * a password made for this run, as stack/compose/migrate.ts does in a deployment (and makes
 * it NOLOGIN again afterwards, as the migration leaves it). As that role, what the API never
 * does is refused with SQLSTATE 42501; the real API process, connected as that role, answers
 * every route that reaches the database as it does as the owner, and logs no permission error.
 */
const PASSWORD = randomBytes(16).toString('hex')
const PORT = 19_750
const NAME = 'api-role'
const LOG = join(ROOT, 'test-results', `${NAME}.log`)

const owner = testSql()
let asApi: Sql
let api: Awaited<ReturnType<typeof startApi>> | undefined

function apiUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? LOCAL_DATABASE_URL)
  url.username = API_ROLE
  url.password = PASSWORD
  return url.toString()
}

beforeAll(async () => {
  // Applies 0032 if the stack's database predates it; the API itself applies none.
  await migrate(owner)
  await loginRole(owner, API_ROLE, PASSWORD)
  asApi = createSql(apiUrl(), { max: 2, applicationName: 'votestream-test-api-role' })
})

afterAll(async () => {
  await api?.stop()
  await asApi?.end({ timeout: 5 })
  await owner.unsafe(`alter role ${API_ROLE} nologin password null`)
  await owner.end({ timeout: 5 })
})

const ROLLBACK = new Error('rolled back')
/** Runs `fn` as votestream_api in a transaction that is always rolled back. */
async function rolledBack<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  let result: T | undefined
  try {
    await asApi.begin(async (tx) => {
      result = await fn(tx)
      throw ROLLBACK
    })
  } catch (err) {
    if (err !== ROLLBACK) throw err
  }
  return result as T
}

/** The SQLSTATE a statement fails with as votestream_api, or 'ok'. */
async function outcome(statement: string): Promise<string> {
  try {
    await rolledBack((tx) => tx.unsafe(statement))
    return 'ok'
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
}

describe('votestream_api', () => {
  it('logs in with the password the deployment set, is no superuser, owns nothing, and finds the migrations applied', async () => {
    const [me] = await asApi<{ user: string }[]>`select current_user as user`
    expect(me?.user).toBe(API_ROLE)
    const [role] = await owner<Record<string, unknown>[]>`
      select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication,
             (select count(*)::int from pg_class where relowner = r.oid) as owned
      from pg_roles r where rolname = ${API_ROLE}`
    expect(role).toEqual({
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
      rolreplication: false,
      owned: 0,
    })
    // What the API runs at start: with every migration applied, it only reads schema_migrations.
    const result = await migrate(asApi)
    expect(result.applied).toEqual([])
    expect(result.alreadyApplied).toContain('0032_api_role.sql')
  })

  it('has exactly the privileges of its migration: writes on what creating elections, casting and audit requests write, reads on what the routes read', async () => {
    const rows = await owner<{ name: string; privileges: string }[]>`
      select c.relname as name,
             concat_ws(' ',
               case when has_any_column_privilege(${API_ROLE}, c.oid, 'SELECT') then 'select' end,
               case when has_any_column_privilege(${API_ROLE}, c.oid, 'INSERT') then 'insert' end,
               case when has_any_column_privilege(${API_ROLE}, c.oid, 'UPDATE') then 'update' end,
               case when has_table_privilege(${API_ROLE}, c.oid, 'DELETE') then 'delete' end,
               case when has_table_privilege(${API_ROLE}, c.oid, 'TRUNCATE') then 'truncate' end,
               case when has_table_privilege(${API_ROLE}, c.oid, 'TRIGGER') then 'trigger' end,
               case when has_any_column_privilege(${API_ROLE}, c.oid, 'REFERENCES') then 'references' end) as privileges
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm')
      order by 1`
    const granted = Object.fromEntries(rows.filter((r) => r.privileges !== '').map((r) => [r.name, r.privileges]))
    const reads = [
      'audit_ballots',
      'audit_commitments',
      'audit_rounds',
      'ballot_box',
      'certification_checks',
      'contest_ballots',
      'contest_ballots_legacy',
      'contest_calls',
      'contest_counts',
      'contest_counts_legacy',
      'duplicate_ballots',
      'election_totals',
      'expected_ballots',
      'planned_ballots',
      'public_contest_ballots',
      'public_contest_counts',
      'public_style_counts',
      'public_style_totals',
      'race_calls',
      'rcv_rankings',
      'reconciliation_reports',
      'rejected_ballots',
      'released_cells',
      'results_releases',
      'schema_migrations',
      'simulation_contest_truth',
      'simulation_injected',
      'simulation_truth',
      'style_counts',
      'tallies',
      'tally_counts',
      'trend_buckets',
      'trend_snapshots',
    ]
    const definition = ['candidates', 'districts', 'contests', 'contest_selections', 'contest_regions', 'ballot_styles', 'style_contests']
    expect(granted).toEqual({
      ...Object.fromEntries(reads.map((t) => [t, 'select'])),
      ...Object.fromEntries([...definition, 'voters', 'cast_receipts', 'certification_adjudications'].map((t) => [t, 'select insert'])),
      // update: regions.style_id; elections.name and ballot_outbox.created_at only for row locks.
      elections: 'select insert update',
      regions: 'select insert update',
      ballot_outbox: 'select insert update delete',
      // update: an audit board's hand count (audits.hand_count) and papers (audit_ballots.paper, paper_state) only.
      audits: 'select insert update delete',
      audit_ballots: 'select update',
    })
    const [sequences] = await owner<{ usable: string[] }[]>`
      select coalesce(array_agg(c.relname order by c.relname), '{}') as usable
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'S'
        and (has_sequence_privilege(${API_ROLE}, c.oid, 'USAGE') or has_sequence_privilege(${API_ROLE}, c.oid, 'UPDATE'))`
    expect(sequences?.usable).toEqual(['ballot_outbox_id_seq'])
  })

  it('is refused, with SQLSTATE 42501, what the API never does', async () => {
    const refused = [
      // The counts, the ballot box and the rankings: the tally's and the worker's to write.
      'update tally_counts set votes = votes + 1 where false',
      'delete from tally_counts where false',
      'insert into tally_counts default values',
      'update style_counts set counts = counts where false',
      // Releasing counts to the public is the results publisher's (the tally's) alone; the
      // API reads the released copy through the public views.
      'select * from released_style_counts',
      'update released_style_counts set counts = counts where false',
      'insert into results_releases default values',
      'delete from results_releases where false',
      'insert into ballot_box default values',
      'update ballot_box set marks = marks where false',
      'delete from ballot_box where false',
      'select * from ballot_box_pending',
      'insert into rcv_rankings default values',
      'update rcv_rankings set ballots = ballots + 1 where false',
      'delete from rcv_rankings where false',
      // The poll book, alone, joined to the box or through its views; nor written.
      'select voter_id, candidate_id from ballots',
      'select b.voter_id, x.marks from ballots b join ballot_box x using (election_id, region_id)',
      'delete from ballots where false',
      'update ballots set candidate_id = candidate_id where false',
      'select * from votes',
      'select * from turnout_by_location',
      'select * from message_ledger',
      // Receipts and the roll: taken and read, never changed.
      'select voter_id from cast_receipts',
      'delete from cast_receipts where false',
      'update voters set token_hash = null where false',
      'delete from voters where false',
      'update regions set registered_voters = 0 where false',
      'update ballot_outbox set payload = payload where false',
      'truncate ballot_outbox',
      // The lifecycle, versions and calls: the workflow's.
      "update elections set status = 'certified' where false",
      'update elections set version = version + 1 where false',
      'update elections set counted_version = 0 where false',
      // The smallest public cell: written once, at creation; a lower one later would show what was hidden.
      'update elections set min_cell_ballots = 1 where false',
      // A board's adjudication: added, never changed or removed.
      "update certification_adjudications set reason = 'changed later' where false",
      'delete from certification_adjudications where false',
      "insert into elections (id, name, status) values ('api-role-evil', 'evil', 'certified')",
      'delete from elections where false',
      "select nextval('results_version')",
      'insert into race_calls default values',
      'update race_calls set retracted_at = now() where false',
      'update contest_calls set retracted_at = now() where false',
      // The ledger beyond the columns the results read; the tally's bookkeeping.
      'select voter_id from rejected_ballots',
      'select detail from rejected_ballots',
      'select voter_id from duplicate_ballots',
      'select * from consumer_offsets',
      'update consumer_offsets set next_offset = 0 where false',
      'select * from poll_close_marks',
      'select counted from election_totals', // only its version, for results_version()
      // Reports, truth and audits: written by the workflows.
      'insert into reconciliation_reports default values',
      'insert into certification_checks default values',
      'insert into simulation_truth default values',
      'insert into audit_commitments default values',
      'insert into audit_rounds default values',
      "update audits set status = 'confirmed' where false",
      // A board enters papers; the draws and the records beside them are the workflow's.
      'update audit_ballots set batch = batch, cvr = null where false',
      'update audits set result = null where false',
      // No DDL, no migration of its own.
      "insert into schema_migrations (name) values ('9999_evil.sql')",
      'create table api_role_evil (id int)',
      'drop table ballots',
    ]
    const outcomes = Object.fromEntries(await Promise.all(refused.map(async (s) => [s, await outcome(s)] as const)))
    expect(outcomes).toEqual(Object.fromEntries(refused.map((s) => [s, '42501'])))
  })

  it('records an audit request, reads it, and drops it again (what POST …/audits runs around its workflow)', async () => {
    const electionId = `role-a-${randomUUID().slice(0, 8)}`
    const auditId = `a-role-${randomUUID().slice(0, 8)}`
    const seen = await rolledBack(async (tx) => {
      await createElection(tx, { id: electionId, name: 'Role: audit', candidates: [], regions: [] })
      await createAudit(tx, {
        id: auditId,
        electionId,
        contestIds: ['any'],
        riskLimit: 0.05,
        seed: '12345678901234567890',
        method: 'ballot-polling',
        papers: 'simulator',
        commitment: 'c',
      })
      const row = await readAudit(tx, auditId)
      const listed = await listAudits(tx, electionId)
      const rounds = await readAuditRounds(tx, auditId)
      const sample = await readAuditBallotsPage(tx, auditId, 0, 10)
      await dropAuditRequest(tx, auditId)
      return { status: row?.status, listed: listed.map((a) => a.id), rounds, sample, after: await readAudit(tx, auditId) }
    })
    expect(seen).toEqual({ status: 'running', listed: [auditId], rounds: [], sample: [], after: null })
  })
})

describe('the API process connected as votestream_api', () => {
  it('answers every route that reaches the database, casts and publishes a ballot, and logs no permission error', async () => {
    const logFrom = existsSync(LOG) ? statSync(LOG).size : 0
    api = await startApi({
      port: PORT,
      taskQueue: `api-role-${randomUUID().slice(0, 8)}`,
      name: NAME,
      env: {
        DATABASE_URL: apiUrl(),
        API_READS_PER_SECOND: '100000',
        API_READS_BURST: '100000',
        API_CASTS_PER_SECOND: '100000',
        API_CASTS_BURST: '100000',
      },
    })
    const url = api.url
    const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const call = async (path: string, expected: number, init: RequestInit = {}) => {
      const res = await fetch(`${url}${path}`, init)
      const text = await res.text()
      expect(res.status, `${init.method ?? 'GET'} ${path}: ${text.slice(0, 500)}`).toBe(expected)
      return { text, json: () => JSON.parse(text), etag: res.headers.get('etag') }
    }

    const health = await call('/healthz', 200)
    expect(health.json().checks.postgres).toBe(true)

    // Three elections, none started (no workflow): one with candidates, one defined by
    // contests (a ranked one among them), one simulated with contests.
    const suffix = randomUUID().slice(0, 8)
    const plain = `role-p-${suffix}`
    const defined = `role-d-${suffix}`
    const simulated = `role-s-${suffix}`
    const regions = [
      { id: 'north', name: 'North', state: 'N', registeredVoters: 5 },
      { id: 'south', name: 'South', state: 'S', registeredVoters: 5 },
    ]
    const rcv = {
      ranksAllowed: 3,
      overvoteRule: 'exhaustImmediately',
      maxSkippedRanksAllowed: 1,
      duplicateRankingRule: 'exhaustOnDuplicate',
      batchElimination: false,
      tiebreakMode: 'previousRoundCountsThenRandom',
      tiebreakSeed: '3 5 2 6 1',
    }
    const definition = {
      districts: [{ id: 'city', name: 'The city', level: 'city' }],
      contests: [
        {
          id: 'mayor',
          name: 'Mayor',
          type: 'candidate',
          district: 'city',
          candidates: ['ann', 'bo', 'cy'].map((id) => ({ id, name: id })),
          rcv,
        },
        {
          id: 'gov',
          name: 'Governor',
          type: 'candidate',
          district: 'city',
          candidates: [
            { id: 'ada', name: 'Ada' },
            { id: 'bob', name: 'Bob' },
          ],
          writeIns: true,
        },
        { id: 'm1', name: 'Measure 1', type: 'measure', district: 'city' },
      ],
    }
    const create = (body: object) =>
      call('/elections', 201, { method: 'POST', headers: admin, body: JSON.stringify({ start: false, ...body }) })
    await create({
      id: plain,
      name: 'Role: plain',
      candidates: [
        { id: 'ada', name: 'Ada' },
        { id: 'alan', name: 'Alan' },
      ],
      regions,
    })
    await create({ id: defined, name: 'Role: contests', regions, definition })
    await create({ id: simulated, name: 'Role: simulated', simulation: { voters: 10, regions: 2, candidates: 2, contests: true } })
    const listed = await call('/elections', 200)
    expect(listed.json().elections.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining([plain, defined, simulated]))
    expect((await call(`/elections/${plain}`, 200)).json().status).toBe('draft')

    // The roll and casting: two voters, each casts once; the second try is a conflict, not an error.
    const registered = await call(`/elections/${plain}/voters`, 201, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        voters: [
          { id: 'v1', regionId: 'north' },
          { id: 'v2', regionId: 'south' },
        ],
      }),
    })
    const tokens: string[] = registered.json().voters.map((v: { token: string }) => v.token)
    await setElectionStatus(owner, plain, 'open') // as the workflow opens it
    const cast = (token: string | undefined) => ({
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ candidateId: 'ada' }),
    })
    await call(`/elections/${plain}/ballots`, 202, cast(tokens[0]))
    await call(`/elections/${plain}/ballots`, 409, cast(tokens[0]))
    await call(`/elections/${plain}/ballots`, 202, cast(tokens[1]))
    // The relay publishes the outbox to Kafka and deletes what it published.
    const published = await waitUntil(
      async () => (await owner`select 1 from ballot_outbox where election_id = ${plain}`).length === 0,
      15_000,
      100,
    )
    expect(published).toBe(true)
    expect((await owner`select 1 from cast_receipts where election_id = ${plain}`).length).toBe(2)

    // Public results of each kind of election.
    for (const id of [plain, defined, simulated]) {
      const results = await call(`/elections/${id}/results`, 200)
      await call(`/elections/${id}/results`, 304, { headers: { 'if-none-match': results.etag ?? '' } })
      await call(`/elections/${id}/results?since=0`, 200)
      await call(`/elections/${id}/regions`, 200)
      await call(`/elections/${id}/trend`, 200)
      await call(`/elections/${id}/reconciliation`, 404) // none has run: a 404, not a failed read
      await call(`/elections/${id}/certification`, 404)
      await call(`/elections/${id}/contests`, 200)
      await call(`/elections/${id}/audit`, 404)
      await call(`/elections/${id}/audits`, 200)
    }
    await call(`/elections/${plain}/regions/north`, 200)
    const { last } = await followSse<{ electionId: string }>(`${url}/elections/${plain}/results/stream`, () => true, 10_000)
    expect(last.electionId).toBe(plain)
    await call(`/elections/${simulated}/simulation`, 200)

    // Contests, ranked rounds and the NIST export.
    await call(`/elections/${defined}/contests/gov`, 200)
    await call(`/elections/${defined}/contests/mayor/rounds`, 200)
    await call(`/elections/${defined}/results.cdf.json`, 200)
    await call(`/elections/${simulated}/results.cdf.json`, 200)
    // A region's rounds are read from the ballot box once counting has finished.
    await owner`update elections set counted_version = version where id = ${defined}`
    await call(`/elections/${defined}/contests/mayor/rounds?region=north`, 200)

    // The audit files, regenerated from the (empty) box against a commitment stored as the
    // workflow stores it.
    const files = ['cvr.json', 'ballot-manifest.csv', talliesFile(1, 'gov')]
    await owner`
      insert into audit_commitments (election_id, generated_at, container_size, ballots, files, list, commitment)
      values (${defined}, now(), 100, 0, ${owner.json(files.map((name) => ({ name, sha256: '0', bytes: 0 })))}, '', '0')`
    await call(`/elections/${defined}/audit`, 200)
    for (const file of files) await call(`/elections/${defined}/audit/${file}`, 200, { headers: admin })

    // A board's adjudication of a failing item, on an election held at closed as the workflow leaves it.
    await owner`update elections set status = 'closed' where id = ${defined}`
    await owner`
      insert into certification_checks (election_id, checked_at, passed, items)
      values (${defined}, now(), false, ${owner.json([{ id: 'one_partition_per_voter', title: 't', passed: false, detail: 'd' }])})`
    const adjudication = { item: 'one_partition_per_voter', reason: 'the board accepts the ballot counted' }
    await call(`/elections/${defined}/certification/adjudications`, 201, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify(adjudication),
    })

    // /metrics reads the race calls at each scrape.
    const metrics = await fetch(`http://127.0.0.1:${PORT + 1000}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('votestream_race_calls')

    await api.stop()
    api = undefined
    const log = readFileSync(LOG).subarray(logFrom).toString('utf8')
    expect(log).not.toMatch(/permission denied|42501/)
    expect(log).not.toMatch(/unexpected error/)
  }, 90_000)
})
