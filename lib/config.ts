import { z } from 'zod'
import { LOCAL, LOCAL_DATABASE_URL, LOCAL_KAFKA_BROKERS, LOCAL_TEMPORAL_ADDRESS } from './local-stack.ts'

/**
 * Configuration is parsed once, at start, from the environment. Each process composes
 * the parts it needs; nothing else in the code reads `process.env`. Every default points
 * at the local stack, so nothing needs setting on a developer machine.
 */

export const databaseConfig = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default(LOCAL_DATABASE_URL),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
})

/**
 * Where public results are read from: a hot standby of the primary (streaming replication),
 * so that readers on election night do not take the primary's CPU from the count. Unset:
 * the primary. Read-only by nature: a reader that tried to write would fail there.
 */
export const databaseReadConfig = z.object({
  DATABASE_READ_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
})

export const kafkaConfig = z.object({
  KAFKA_BROKERS: z
    .string()
    .default(LOCAL_KAFKA_BROKERS)
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().default('votestream'),
})

export const temporalConfig = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'expected host:port')
    .default(LOCAL_TEMPORAL_ADDRESS),
  TEMPORAL_NAMESPACE: z.string().min(1).default(LOCAL.temporal.namespace),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('votestream'),
  TEMPORAL_UI_URL: z.url().default(`http://${LOCAL.temporal.host}:${LOCAL.temporal.uiPort}`),
})

/** NODE_ENV=production turns on the checks a deployment needs (see refuseDefaultSecrets). */
export const nodeEnvConfig = z.object({
  NODE_ENV: z.string().default('development'),
})

/** Local defaults anyone can read in this repository (and the old compose file's): never secrets in production. */
export const LOCAL_ADMIN_TOKEN = 'votestream-local-admin-token'
export const LOCAL_VOTER_SECRET = 'votestream-local-voter-secret'
const PUBLISHED_SECRETS: Record<string, readonly string[]> = {
  API_ADMIN_TOKEN: [LOCAL_ADMIN_TOKEN, 'votestream-compose-admin-token'],
  API_VOTER_SECRET: [LOCAL_VOTER_SECRET, 'votestream-compose-voter-secret'],
}

/** Why `value` of the variable `name` may not be used in production, or undefined if it may. */
export function defaultSecretProblem(name: string, value: string): string | undefined {
  if (name === 'DATABASE_URL' || name === 'DATABASE_READ_URL') {
    let password: string
    try {
      password = decodeURIComponent(new URL(value).password)
    } catch {
      return undefined // not a URL: the field's own check reports it
    }
    if (password === '') return `set ${name} with a password: a connection without one is refused in production`
    if (password === LOCAL.postgres.password)
      return `set ${name} with a password of its own: the local default password is refused in production`
    return undefined
  }
  if (PUBLISHED_SECRETS[name]?.includes(value)) return `set ${name}: the local default is refused in production`
  return undefined
}

/**
 * Where NODE_ENV is production, refuses every secret of `schema` that still has a value
 * published in this repository (API_ADMIN_TOKEN, API_VOTER_SECRET) or a DATABASE_URL
 * with the local password or none; each refusal names its variable. Adds NODE_ENV.
 */
export function refuseDefaultSecrets<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  return schema.extend(nodeEnvConfig.shape).superRefine((parsed, ctx) => {
    const config: Record<string, unknown> = parsed
    if (config.NODE_ENV !== 'production') return
    for (const [name, value] of Object.entries(config)) {
      const problem = typeof value === 'string' ? defaultSecretProblem(name, value) : undefined
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] })
    }
  })
}

export const logConfig = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Parses `env` with `schema`; a failure names every bad variable at once. */
export function parseConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.output<S> {
  // Empty strings mean "unset" (docker-compose writes `FOO=` for optional variables).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const result = schema.safeParse(cleaned)
  if (result.success) return result.data
  throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`))
}

/** Loads configuration at start; on a bad value prints every bad field and exits 1. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
}
