import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboards, toGrafanaJson } from '../grafana/dashboards.ts'
import { MIGRATIONS_DIR, migrate } from '../lib/db/migrate.ts'
import { APP_ROLE, GRAFANA_ROLE, loginRole, REPLICATION_ROLE, replicationRole } from '../lib/db/roles.ts'
import { createSql, type Sql } from '../lib/db/sql.ts'
import { LOCAL_DATABASE_URL } from '../lib/local-stack.ts'
import { testSql } from './helpers.ts'

/**
 * The roles of db/migrations/0003_roles.sql, on a database of its own migrated from
 * nothing (as a new deployment is). The local user is a superuser: it acts as a role with
 * `set local role` in a transaction that is always rolled back, or connects as a login
 * role made for the test that is a member of votestream_app, given its password the way
 * the compose deployment does (lib/db/roles.ts).
 */
const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
const DATABASE = `roles_test_${suffix}`
const APP_LOGIN = `roles_test_app_${suffix}`
const APP_PASSWORD = randomBytes(16).toString('hex')

const admin = testSql()
let owner: Sql
let app: Sql

/** The test database, as the local user or as `login`. */
function urlFor(login?: { user: string; password: string }): string {
  const url = new URL(process.env.DATABASE_URL ?? LOCAL_DATABASE_URL)
  url.pathname = `/${DATABASE}`
  if (login) {
    url.username = login.user
    url.password = login.password
  }
  return url.toString()
}

beforeAll(async () => {
  await admin.unsafe(`create database ${DATABASE}`)
  owner = createSql(urlFor(), { max: 2, applicationName: 'votestream-test-roles' })
  await migrate(owner)
  await admin.unsafe(`create role ${APP_LOGIN} nologin in role ${APP_ROLE}`)
  await loginRole(admin, APP_LOGIN, APP_PASSWORD)
  app = createSql(urlFor({ user: APP_LOGIN, password: APP_PASSWORD }), { max: 2, applicationName: 'votestream-test-roles-app' })
})

afterAll(async () => {
  await app?.end({ timeout: 5 })
  await owner?.end({ timeout: 5 })
  await admin.unsafe(`drop database if exists ${DATABASE} with (force)`)
  await admin.unsafe(`drop role if exists ${APP_LOGIN}`)
  await admin.end({ timeout: 5 })
})

const ROLLBACK = new Error('rolled back')
/** Runs `fn` as `role` (or as the connection's user) in a transaction that is rolled back. */
async function rolledBack<T>(db: Sql, role: string | null, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  let result: T | undefined
  try {
    await db.begin(async (tx) => {
      if (role) await tx.unsafe(`set local role ${role}`)
      result = await fn(tx)
      throw ROLLBACK
    })
  } catch (err) {
    if (err !== ROLLBACK) throw err
  }
  return result as T
}

/** Grafana's macros and the dashboard variable, expanded the way Grafana does (as in grafana.test.ts). */
function expand(rawSql: string): string {
  const seconds = (interval: string) => {
    const m = /^'?(\d+)([smhd])'?$/.exec(interval.trim())
    return Number(m?.[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m?.[2] ?? 's') as 's' | 'm' | 'h' | 'd']
  }
  const from = new Date(Date.now() - 3600_000).toISOString()
  const to = new Date().toISOString()
  return (
    rawSql
      .replace(/\$__timeFilter\(([^)]+)\)/g, (_, col) => `${col} BETWEEN '${from}' AND '${to}'`)
      .replace(
        /\$__timeGroupAlias\(([^,]+),([^)]+)\)/g,
        (_, col, iv) => `floor(extract(epoch from ${col})/${seconds(iv)})*${seconds(iv)} AS "time"`,
      )
      .replace(/\$__timeFrom\(\)/g, `'${from}'`)
      .replace(/\$__timeTo\(\)/g, `'${to}'`)
      // As Grafana's sqlstring format: a quoted literal (grafana.test.ts models it fully).
      .replace(/\$\{election:sqlstring\}/g, "'no-such-election'")
      .replace(/\$\{state:sqlstring\}/g, "'__all'")
      .replace(/\$\{contest:sqlstring\}/g, "'no-such-contest'")
  )
}

describe('the roles', () => {
  it('are neither superusers nor allowed to create roles or databases, and own nothing', async () => {
    const roles = await owner<{ rolname: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; owned: number }[]>`
      select rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication,
             (select count(*)::int from pg_class where relowner = r.oid) as owned
      from pg_roles r where rolname in (${APP_ROLE}, ${GRAFANA_ROLE}) order by rolname`
    expect(roles).toEqual(
      [APP_ROLE, GRAFANA_ROLE].map((rolname) => ({
        rolname,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
        rolreplication: false,
        owned: 0,
      })),
    )
  })

  it('are created by a migration that runs again without harm (roles belong to the cluster)', async () => {
    const again = await readFile(join(MIGRATIONS_DIR, '0003_roles.sql'), 'utf8')
    await rolledBack(owner, null, (tx) => tx.unsafe(again))
  })
})

describe('votestream_app', () => {
  it('logs in with the password the deployment set, and finds the migrations applied without creating anything', async () => {
    const [me] = await app<{ user: string }[]>`select current_user as user`
    expect(me?.user).toBe(APP_LOGIN)
    const result = await migrate(app)
    expect(result.applied).toEqual([])
    expect(result.alreadyApplied).toContain('0003_roles.sql')
  })

  it('cannot create roles, tables or databases, nor record a migration', async () => {
    for (const ddl of [
      `create role roles_test_evil_${suffix}`,
      `create table roles_test_evil (id int)`,
      `create database roles_test_evil_${suffix}`,
      `insert into schema_migrations (name) values ('9999_evil.sql')`,
      `drop table ballots`,
      `truncate ballots`,
    ]) {
      // create database cannot run in a transaction: as a single statement it fails on the privilege first.
      const run = ddl.startsWith('create database') ? app.unsafe(ddl) : rolledBack(app, null, (tx) => tx.unsafe(ddl))
      await expect(run, ddl).rejects.toThrow(/permission denied|must be owner/)
    }
    await expect(rolledBack(owner, APP_ROLE, (tx) => tx.unsafe(`create role roles_test_evil_${suffix}`))).rejects.toThrow(
      /permission denied/,
    )
  })

  it('reads and writes rows, also of tables and sequences created by migrations after 0003', async () => {
    const election = `roles-${suffix}`
    const rows = await rolledBack(app, null, async (tx) => {
      await tx`insert into elections (id, name) values (${election}, 'roles test')`
      await tx`update elections set status = 'open' where id = ${election}`
      await tx`select nextval('results_version')`
      // ballot_outbox and its sequence come from 0005, race_calls (dropped and recreated) from 0004
      await tx`insert into ballot_outbox (election_id, voter_id, ballot_id, payload)
               values (${election}, 'v1', gen_random_uuid(), '\\x00')`
      await tx`insert into race_calls (election_id, candidate_id, rule, figures, version) values (${election}, 'c1', 'test', '{}', 1)`
      await tx`delete from ballot_outbox where election_id = ${election}`
      await tx`lock table tally_counts in share row exclusive mode` // what reconciliation takes
      return tx<{ status: string }[]>`select status from elections where id = ${election}`
    })
    expect(rows.map((r) => r.status)).toEqual(['open'])
  })
})

describe('votestream_grafana', () => {
  const asGrafana = <T>(fn: (tx: postgres.TransactionSql) => Promise<T>) => rolledBack(owner, GRAFANA_ROLE, fn)

  it('reads the dashboard views', async () => {
    const rows = await asGrafana(async (tx) => [
      ...(await tx`select * from tallies limit 1`),
      ...(await tx`select * from turnout limit 1`),
      ...(await tx`select coalesce(sum(ballots), 0) from count_rate where at > now() - interval '1 minute'`),
      ...(await tx`select * from contest_results limit 1`),
      ...(await tx`select * from contest_totals limit 1`),
    ])
    expect(rows).toHaveLength(1)
  })

  it("reads a ranked contest's rounds only through the view that hides contests of fewer than 10 ranking ballots (db/migrations/0031)", async () => {
    const shown = await rolledBack(owner, null, async (tx) => {
      const e = `roles-rcv-${Date.now().toString(36)}`
      await tx`insert into elections (id, name) values (${e}, 'Roles: rounds')`
      await tx`insert into districts (election_id, id, name, level, position) values (${e}, 'all', 'All', 'city', 0)`
      for (const [position, contest, rankingBallots] of [
        [0, 'small', 9],
        [1, 'large', 10],
      ] as const) {
        await tx`insert into contests (election_id, id, position, name, kind, district_id, votes_allowed, number_elected, write_ins, rcv)
                 values (${e}, ${contest}, ${position}, ${contest}, 'candidate', 'all', 1, 1, false, '{}'::jsonb)`
        await tx`insert into contest_selections (election_id, contest_id, id, position, name, write_in) values (${e}, ${contest}, 'ann', 0, 'Ann', false)`
        await tx`insert into rcv_round_tallies (election_id, contest_id, round, candidate_id, votes, status, ranking_ballots)
                 values (${e}, ${contest}, 1, 'ann', ${rankingBallots}, 'elected', ${rankingBallots})`
      }
      await tx.unsafe(`set local role ${GRAFANA_ROLE}`)
      return tx<{ contestId: string }[]>`select contest_id from rcv_rounds where election_id = ${e}`
    })
    expect(shown.map((r) => r.contestId)).toEqual(['large'])
  })

  it('sees the contests only through the views that suppress small cells (db/migrations/0018)', async () => {
    for (const query of [
      'select * from contest_counts',
      'select * from contest_ballots',
      'select marks from ballot_box',
      // Ranked choice: the rankings and the unsuppressed rounds stay out of reach; rcv_rounds is the view.
      'select * from rcv_rankings',
      'select * from rcv_round_tallies',
    ])
      await expect(
        asGrafana((tx) => tx.unsafe(query)),
        query,
      ).rejects.toThrow(/permission denied/)
  })

  it('cannot insert, update or delete in any table, nor create one', async () => {
    const tables = await owner<{ name: string; column: string }[]>`
      select c.relname as name, (select attname from pg_attribute where attrelid = c.oid and attnum > 0 and not attisdropped
                                   -- not an identity or generated column: updating those fails before the privilege check
                                   and attidentity = '' and attgenerated = ''
                                   order by attnum limit 1) as column
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['ballots', 'elections', 'tally_counts', 'race_calls', 'schema_migrations']),
    )
    for (const { name, column } of tables) {
      for (const statement of [
        `insert into ${name} default values`,
        `update ${name} set ${column} = ${column} where false`,
        `delete from ${name} where false`,
      ])
        await expect(
          asGrafana((tx) => tx.unsafe(statement)),
          statement,
        ).rejects.toThrow(/permission denied/)
    }
    await expect(asGrafana((tx) => tx.unsafe('create table roles_test_evil (id int)'))).rejects.toThrow(/permission denied/)
  })

  it('sees no voter ids, choices, credentials or raw ballots', async () => {
    for (const query of [
      'select voter_id from ballots',
      // Not even its times: the panels read the counting rate and latency from count_rate.
      'select counted_at from ballots',
      'select candidate_id from ballots',
      'select raw from rejected_ballots',
      'select token_hash from voters',
      'select * from votes',
      'select * from turnout_by_location',
      'select payload from ballot_outbox',
      'select * from cast_receipts',
    ])
      await expect(
        asGrafana((tx) => tx.unsafe(query)),
        query,
      ).rejects.toThrow(/permission denied/)
  })

  const queries = [
    ...dashboards.flatMap((d) => d.panels.map((p) => ({ title: `${d.title} / ${p.title}`, sql: p.sql }))),
    ...dashboards
      .flatMap((d) => (toGrafanaJson(d) as { templating: { list: Array<{ name: string; query: string }> } }).templating.list)
      .map((v) => ({ title: `variable ${v.name}`, sql: v.query })),
  ].filter((q, i, all) => all.findIndex((o) => o.sql === q.sql) === i)
  it.each(queries)('runs $title', async ({ sql }) => {
    await asGrafana((tx) => tx.unsafe(expand(sql)))
  })
})

describe('votestream_replicator (docker-compose.standby.yml)', () => {
  it('may replicate and log in with the password the migrate service sets, and reads no table', async () => {
    const [before] = await admin<{ n: number }[]>`select count(*)::int as n from pg_roles where rolname = ${REPLICATION_ROLE}`
    const password = randomBytes(16).toString('hex')
    try {
      // As the migrate service runs at every start: created once, its password set each time.
      await replicationRole(admin, randomBytes(16).toString('hex'))
      await replicationRole(admin, password)
      const [role] = await admin<{ rolreplication: boolean; rolcanlogin: boolean; rolsuper: boolean; rolcreaterole: boolean }[]>`
        select rolreplication, rolcanlogin, rolsuper, rolcreaterole from pg_roles where rolname = ${REPLICATION_ROLE}`
      expect(role).toEqual({ rolreplication: true, rolcanlogin: true, rolsuper: false, rolcreaterole: false })
      const replicator = createSql(urlFor({ user: REPLICATION_ROLE, password }), { max: 1, applicationName: 'votestream-test-replicator' })
      try {
        const [me] = await replicator<{ user: string }[]>`select current_user as user`
        expect(me?.user).toBe(REPLICATION_ROLE)
        await expect(replicator`select count(*) from ballot_box`).rejects.toMatchObject({ code: '42501' })
        await expect(replicator`select count(*) from voters`).rejects.toMatchObject({ code: '42501' })
      } finally {
        await replicator.end({ timeout: 5 })
      }
    } finally {
      if (before?.n === 0) await admin.unsafe(`drop role if exists ${REPLICATION_ROLE}`)
    }
  })
})
