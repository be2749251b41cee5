import { DefaultLogger, Runtime } from '@temporalio/worker'

// Temporal workers log every state change at INFO; tests only want warnings.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') })
} catch {
  // already installed in this worker process
}
