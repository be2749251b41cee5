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
  /** A `temporal` binary to use instead of finding or installing one. */
  TEMPORAL_CLI: z.string().min(1).optional(),
})
export type StackConfig = z.infer<typeof stackConfig>

export const STACK_CONFIG: StackConfig = configOrExit(() => parseConfig(stackConfig, process.env))
