import pino, { type Logger } from 'pino'

export type { Logger }

/** One structured JSON logger per process; modules take a child with their own bindings. */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime })
}
