import type { Logger } from './log.ts'

/**
 * Runs `shutdown` once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it
 * failed or took longer than `graceMs`. A second signal exits at once.
 */
export function onShutdown(log: Logger, shutdown: (signal: string) => Promise<void>, graceMs = 30_000) {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'shutting down')
    const timeout = setTimeout(() => {
      log.error({ graceMs }, 'shutdown took too long; exiting')
      process.exit(1)
    }, graceMs)
    shutdown(signal).then(
      () => {
        clearTimeout(timeout)
        log.info('stopped')
        process.exit(0)
      },
      (err) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}

/** The shape of every entry point: a failure to start is logged and ends the process. */
export function runMain(log: Logger, main: () => Promise<void>) {
  main().catch((err) => {
    log.fatal({ err }, 'start failed')
    process.exit(1)
  })
}
