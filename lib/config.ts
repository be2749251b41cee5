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
