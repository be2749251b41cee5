import { indexDefinition, type TabulationIndex } from '../../domain/tabulation.ts'
import { loadDefinitions } from '../../lib/db/contests.ts'
import type { Db } from '../../lib/db/sql.ts'

/**
 * The definitions of the elections being counted, loaded once each: a definition never
 * changes after the election is created (nor does an election gain one), so what is
 * cached stays true. An election not found is not cached: it may be created later.
 */
export class DefinitionCache {
  private readonly known = new Map<string, TabulationIndex | null>()

  constructor(private readonly capacity = 1_000) {}

  /** Election id → its tabulation index, or null for an election without contests; unknown elections are absent. */
  async get(db: Db, electionIds: Iterable<string>): Promise<Map<string, TabulationIndex | null>> {
    const ids = [...new Set(electionIds)]
    const missing = ids.filter((id) => !this.known.has(id))
    if (missing.length > 0) {
      const loaded = await loadDefinitions(db, missing)
      for (const [id, resolved] of loaded) {
        if (this.known.size >= this.capacity) this.known.delete(this.known.keys().next().value as string)
        this.known.set(id, resolved ? indexDefinition(resolved) : null)
      }
    }
    const out = new Map<string, TabulationIndex | null>()
    for (const id of ids) if (this.known.has(id)) out.set(id, this.known.get(id) ?? null)
    return out
  }
}

/** The counter's cache (one per process: the counting loop is the only reader). */
export const definitions = new DefinitionCache()
