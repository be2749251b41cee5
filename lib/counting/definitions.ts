import { type VectorIndex, vectorIndex } from '../../domain/count-vector.ts'
import { indexDefinition, type TabulationIndex } from '../../domain/tabulation.ts'
import { loadCountLayouts, loadDefinitions } from '../../lib/db/contests.ts'
import type { Db } from '../../lib/db/sql.ts'

/**
 * The definitions of the elections being counted, loaded once each: a definition never
 * changes after the election is created (nor does an election gain one), so what is
 * cached stays true. An election not found is not cached: it may be created later.
 */
/** A definition as the counter uses it: the rules to judge a ballot, and where its counts go. */
export type CountingIndex = TabulationIndex & { vector: VectorIndex }

export class DefinitionCache {
  private readonly known = new Map<string, CountingIndex | null>()

  constructor(private readonly capacity = 1_000) {}

  /** Election id → its tabulation index, or null for an election without contests; unknown elections are absent. */
  async get(db: Db, electionIds: Iterable<string>): Promise<Map<string, CountingIndex | null>> {
    const ids = [...new Set(electionIds)]
    const missing = ids.filter((id) => !this.known.has(id))
    if (missing.length > 0) {
      const loaded = await loadDefinitions(db, missing)
      const layouts = await loadCountLayouts(db, missing)
      for (const [id, resolved] of loaded) {
        if (this.known.size >= this.capacity) this.known.delete(this.known.keys().next().value as string)
        this.known.set(id, resolved ? { ...indexDefinition(resolved), vector: vectorIndex(resolved, layouts.get(id) ?? new Map()) } : null)
      }
    }
    const out = new Map<string, CountingIndex | null>()
    for (const id of ids) if (this.known.has(id)) out.set(id, this.known.get(id) ?? null)
    return out
  }
}

/** The counter's cache (one per process: the counting loop is the only reader). */
export const definitions = new DefinitionCache()
