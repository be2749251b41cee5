/** One piece of the local stack: something to install once, start, probe and stop. */
export interface Component {
  name: string
  /** Set when configuration points at a server the stack does not run. */
  external?: string
  address: string
  /** Links a person can open, such as the Temporal Web UI. */
  urls?: Record<string, string>
  /** Downloads or builds what the component needs; a no-op when cached. */
  install(progress: Progress): Promise<void>
  /** Starts the process if it is not running, then waits until it answers. */
  start(progress: Progress): Promise<void>
  /** A real request: a SQL query, a Kafka metadata request, a Temporal health check. */
  ready(): Promise<boolean>
  /** The pid of the process the stack started, if it is running. */
  pid(): number | undefined
  stop(): Promise<boolean>
}

export type Progress = (message: string) => void

/** A failure the person running the stack can act on: the message says what to do. */
export class StackError extends Error {
  override name = 'StackError'
}

export const DOCKER_HINT = 'Alternatively, with Docker: `docker compose up -d` runs the same stack on the same ports (see README.md).'
