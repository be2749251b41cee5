/**
 * Polls `check` every `intervalMs` until it holds (true) or `timeoutMs` passes (false). A
 * check that throws counts as "not yet": a server that refuses connections is one that has
 * not started. Shared by the stack, the simulator and the benchmark, which each wait for a
 * process to answer.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await check()) return true
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
