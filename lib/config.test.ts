import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { loadApiConfig } from '../services/api/config.ts'
import { loadTallyConfig } from '../services/tally/config.ts'
import { loadWorkerConfig } from '../services/worker/config.ts'
import { ConfigError, databaseConfig, defaultSecretProblem, parseConfig, refuseDefaultSecrets } from './config.ts'

const OWN_URL = 'postgres://votestream_app:4f1c0a9e7d2b6c8a@postgres:5432/votestream'
const OWN_SECRETS = {
  DATABASE_URL: OWN_URL,
  API_ADMIN_TOKEN: 'a-deployment-admin-token-0123456789',
  API_VOTER_SECRET: 'a-deployment-voter-secret-0123456789',
}

/** The problems a load reports, as printed (`VARIABLE: message`), or [] if it loads. */
function problems(load: () => unknown): string[] {
  try {
    load()
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

describe('defaultSecretProblem', () => {
  it('refuses a DATABASE_URL with the local password or none, and accepts one of its own', () => {
    expect(defaultSecretProblem('DATABASE_URL', 'postgres://votestream:votestream@127.0.0.1:5432/votestream')).toMatch(
      /local default password/,
    )
    expect(defaultSecretProblem('DATABASE_URL', 'postgres://app:vote%73tream@db/votestream')).toMatch(/local default password/)
    expect(defaultSecretProblem('DATABASE_URL', 'postgres://votestream@127.0.0.1:5432/votestream')).toMatch(/with a password/)
    expect(defaultSecretProblem('DATABASE_URL', 'postgres://db.internal/votestream')).toMatch(/with a password/)
    expect(defaultSecretProblem('DATABASE_URL', OWN_URL)).toBeUndefined()
    // The standby's URL is a connection like the primary's: the same rule, named for it.
    expect(defaultSecretProblem('DATABASE_READ_URL', 'postgres://votestream:votestream@127.0.0.1:5433/votestream')).toMatch(
      /^set DATABASE_READ_URL with a password of its own/,
    )
    expect(defaultSecretProblem('DATABASE_READ_URL', OWN_URL)).toBeUndefined()
  })

  it('refuses the published tokens, the local and the old compose ones', () => {
    for (const [name, value] of [
      ['API_ADMIN_TOKEN', 'votestream-local-admin-token'],
      ['API_ADMIN_TOKEN', 'votestream-compose-admin-token'],
      ['API_VOTER_SECRET', 'votestream-local-voter-secret'],
      ['API_VOTER_SECRET', 'votestream-compose-voter-secret'],
    ] as const)
      expect(defaultSecretProblem(name, value)).toBe(`set ${name}: the local default is refused in production`)
    expect(defaultSecretProblem('API_ADMIN_TOKEN', OWN_SECRETS.API_ADMIN_TOKEN)).toBeUndefined()
    expect(defaultSecretProblem('LOG_LEVEL', 'votestream-local-admin-token')).toBeUndefined()
  })
})

describe('refuseDefaultSecrets', () => {
  const schema = refuseDefaultSecrets(z.object({ ...databaseConfig.shape, OTHER: z.string().default('x') }))

  it('changes nothing outside production: every default still works on a laptop', () => {
    expect(parseConfig(schema, {})).toMatchObject({ NODE_ENV: 'development', OTHER: 'x' })
    expect(problems(() => loadApiConfig({}))).toEqual([])
    expect(problems(() => loadTallyConfig({ NODE_ENV: 'test' }))).toEqual([])
    expect(problems(() => loadWorkerConfig({}))).toEqual([])
  })

  it('in production, names every default secret at once, each by its variable', () => {
    expect(problems(() => loadApiConfig({ NODE_ENV: 'production' }))).toEqual([
      'DATABASE_URL: set DATABASE_URL with a password of its own: the local default password is refused in production',
      'API_ADMIN_TOKEN: set API_ADMIN_TOKEN: the local default is refused in production',
      'API_VOTER_SECRET: set API_VOTER_SECRET: the local default is refused in production',
    ])
  })

  it('in production, refuses each default secret alone', () => {
    for (const name of Object.keys(OWN_SECRETS) as Array<keyof typeof OWN_SECRETS>) {
      const env = { NODE_ENV: 'production', ...OWN_SECRETS, [name]: undefined }
      expect(problems(() => loadApiConfig(env))).toEqual([expect.stringMatching(new RegExp(`^${name}: set ${name}`))])
    }
    const empty = { NODE_ENV: 'production', ...OWN_SECRETS, DATABASE_URL: 'postgres://votestream_app@postgres:5432/votestream' }
    expect(problems(() => loadApiConfig(empty))).toEqual([
      'DATABASE_URL: set DATABASE_URL with a password: a connection without one is refused in production',
    ])
  })

  it('in production, accepts secrets of its own', () => {
    const config = loadApiConfig({ NODE_ENV: 'production', ...OWN_SECRETS })
    expect(config).toMatchObject({ NODE_ENV: 'production', ...OWN_SECRETS })
  })

  it('applies to the tally and the worker, which hold only the database secret', () => {
    const refused = [expect.stringMatching(/^DATABASE_URL: set DATABASE_URL with a password of its own/)]
    expect(problems(() => loadTallyConfig({ NODE_ENV: 'production' }))).toEqual(refused)
    expect(problems(() => loadWorkerConfig({ NODE_ENV: 'production' }))).toEqual(refused)
    expect(problems(() => loadTallyConfig({ NODE_ENV: 'production', DATABASE_URL: OWN_URL }))).toEqual([])
    expect(problems(() => loadWorkerConfig({ NODE_ENV: 'production', DATABASE_URL: OWN_URL }))).toEqual([])
  })

  it('keeps the checks of the fields themselves', () => {
    expect(problems(() => loadApiConfig({ NODE_ENV: 'production', ...OWN_SECRETS, API_ADMIN_TOKEN: 'short' }))).toEqual([
      'API_ADMIN_TOKEN: at least 16 characters',
    ])
  })

  it("refuses the tally's old minimum cell, naming where it went, and keeps the API's default within the election's range", () => {
    const [problem] = problems(() => loadTallyConfig({ NODE_ENV: 'test', TALLY_RESULTS_MIN_CELL_BALLOTS: '20' }))
    expect(problem).toMatch(/^TALLY_RESULTS_MIN_CELL_BALLOTS: is no longer read: each election carries its own smallest public cell/)
    expect(loadApiConfig({ NODE_ENV: 'test', API_RESULTS_MIN_CELL_BALLOTS: '20' }).API_RESULTS_MIN_CELL_BALLOTS).toBe(20)
    for (const bad of ['0', '10001', '2.5', 'ten'])
      expect(problems(() => loadApiConfig({ NODE_ENV: 'test', API_RESULTS_MIN_CELL_BALLOTS: bad }))[0]).toMatch(
        /^API_RESULTS_MIN_CELL_BALLOTS: /,
      )
  })
})
