import { z } from 'zod'
import { configOrExit, parseConfig } from '../lib/config.ts'
import { LOCAL } from '../lib/local-stack.ts'

/**
 * What the stack commands read from the environment, parsed once at start. Unset, the
 * stack is the local one in `.stack/`; an address naming another server makes that part
 * external (the stack then only checks it).
 */
export const stackConfig = z.object({
  VOTESTREAM_STACK_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^:\s,]+:\d+(,[^:\s,]+:\d+)*$/, 'expected host:port[,host:port...]')
    .optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'expected host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default(LOCAL.temporal.namespace),
  /**
   * How long the `votes` topic keeps ballots. Each message there carries the voter's id with
   * their marks (the counter needs both), so this is how long a voter can be linked to a
   * choice by whoever can read the topic: keep it as short as recovery allows.
   */
  VOTES_RETENTION_HOURS: z.coerce.number().int().min(1).max(8_760).default(168),
  /** A `temporal` binary to use instead of finding or installing one. */
  TEMPORAL_CLI: z.string().min(1).optional(),
})
export type StackConfig = z.infer<typeof stackConfig>

export const STACK_CONFIG: StackConfig = configOrExit(() => parseConfig(stackConfig, process.env))
