#!/usr/bin/env bun
/**
 * The `migrate` service of docker-compose.yml (and the Helm chart's migrations Job), run once
 * before the others: applies the migrations as the owner (POSTGRES_USER), then lets the
 * application, API and Grafana roles log in with the passwords the deployment chose. The
 * services connect as those roles: the tally and the worker as the application's, the API
 * as its own. With docker-compose.standby.yml it also creates the role the hot standby
 * replicates as (REPLICATION, nothing else: it reads no table).
 */
import { z } from 'zod'
import { configOrExit, databaseConfig, parseConfig, refuseDefaultSecrets } from '../../lib/config.ts'
import { migrate } from '../../lib/db/migrate.ts'
import { API_ROLE, APP_ROLE, GRAFANA_ROLE, loginRole, REPLICATION_ROLE, replicationRole } from '../../lib/db/roles.ts'
import { createSql } from '../../lib/db/sql.ts'

/** Each password also goes into a connection URL: characters that need no escaping there. */
const rolePassword = z.string().regex(/^[A-Za-z0-9._~-]{16,}$/, 'at least 16 characters, only letters, digits and - . _ ~')

const config = configOrExit(() =>
  parseConfig(
    refuseDefaultSecrets(
      z.object({
        ...databaseConfig.shape,
        VOTESTREAM_APP_DB_PASSWORD: rolePassword,
        VOTESTREAM_API_DB_PASSWORD: rolePassword,
        VOTESTREAM_GRAFANA_DB_PASSWORD: rolePassword,
        VOTESTREAM_REPLICATION_DB_PASSWORD: rolePassword.optional(),
      }),
    ),
  ),
)

const sql = createSql(config.DATABASE_URL, { max: 1, applicationName: 'votestream-migrate' })
try {
  const { applied } = await migrate(sql)
  console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'migrations: up to date')
  await loginRole(sql, APP_ROLE, config.VOTESTREAM_APP_DB_PASSWORD)
  await loginRole(sql, API_ROLE, config.VOTESTREAM_API_DB_PASSWORD)
  await loginRole(sql, GRAFANA_ROLE, config.VOTESTREAM_GRAFANA_DB_PASSWORD)
  console.log(`roles ${APP_ROLE}, ${API_ROLE} and ${GRAFANA_ROLE} may log in`)
  if (config.VOTESTREAM_REPLICATION_DB_PASSWORD) {
    await replicationRole(sql, config.VOTESTREAM_REPLICATION_DB_PASSWORD)
    console.log(`role ${REPLICATION_ROLE} may replicate (the standby)`)
  }
} finally {
  await sql.end({ timeout: 5 })
}
