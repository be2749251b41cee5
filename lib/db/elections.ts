import { DEFAULT_MIN_CELL_BALLOTS } from '../../domain/contest-results.ts'
import { type Candidate, canTransition, type ElectionStatus, type Region } from '../../domain/election.ts'
import { type ElectionSettings, electionSettingsSchema, type SimulationRun } from '../../domain/election-settings.ts'
import { AppError } from '../../domain/errors.ts'
import { Simulation, type SimulationPlan, simulatedBallot, simulatedDefinition, voterId } from '../../domain/simulation.ts'
import { releaseHeldRankings } from './ballot-box.ts'
import { saveDefinition } from './contests.ts'
import { type Db, inTransaction } from './sql.ts'
import { takeResultsVersion } from './versions.ts'

export interface NewElection {
  id: string
  name: string
  candidates: Candidate[]
  regions: Region[]
  simulated?: boolean
  /** A test election (every simulation is one): TEST on every page, IsTest in every export. */
  test?: boolean
  settings?: ElectionSettings
  /** The smallest public cell (domain/contest-results.ts minCellBallotsSchema); the column's default, 10, when absent. */
  minCellBallots?: number
}

export interface ElectionRow {
  id: string
  name: string
  status: ElectionStatus
  simulated: boolean
  /** A test election: fixed at creation, true for every simulation. */
  test: boolean
  /** Parsed by its schema when the row is read (domain/election-settings.ts). */
  settings: ElectionSettings
  /**
   * Public cells with fewer ballots are hidden, and public counts and ranked rounds move by
   * at least this many ballots: fixed at creation, the one minimum every output reads.
   */
  minCellBallots: number
  createdAt: Date
  openedAt: Date | null
  closedAt: Date | null
  certifiedAt: Date | null
  /** int8: a BigInt */
  producedBallots: bigint | null
  /** int8: a BigInt */
  version: bigint
  /** The results version at which counting finished (the count is frozen from there); int8. */
  countedVersion: bigint | null
}

export async function createElection(db: Db, e: NewElection): Promise<void> {
  const [existing] = await db`select 1 from elections where id = ${e.id}`
  if (existing) throw new AppError('conflict', `election ${e.id} already exists`)
  await db`insert into elections (id, name, simulated, test, settings, min_cell_ballots)
    values (${e.id}, ${e.name}, ${e.simulated ?? false}, ${(e.test ?? false) || (e.simulated ?? false)}, ${db.json(toJson(e.settings ?? {}))},
            ${e.minCellBallots ?? DEFAULT_MIN_CELL_BALLOTS})`
  await db`
    insert into candidates (election_id, id, name, party, position)
    select ${e.id}, * from unnest(${e.candidates.map((c) => c.id)}::text[], ${e.candidates.map((c) => c.name)}::text[],
                                  ${e.candidates.map((c) => c.party ?? null)}::text[], ${e.candidates.map((_, i) => i)}::int[])`
  await db`
    insert into regions (election_id, id, name, state, registered_voters, lat, lon, position)
    select ${e.id}, * from unnest(${e.regions.map((r) => r.id)}::text[], ${e.regions.map((r) => r.name)}::text[],
                                  ${e.regions.map((r) => r.state)}::text[], ${e.regions.map((r) => r.registeredVoters)}::int[],
                                  ${e.regions.map((r) => r.lat ?? null)}::float8[], ${e.regions.map((r) => r.lon ?? null)}::float8[],
                                  ${e.regions.map((_, i) => i)}::int[])`
}

/** Adds voters to the roll in chunks (one round trip each, no parameter limit). */
export async function addVoters(
  db: Db,
  electionId: string,
  voters: Array<{ id: string; regionId: string; tokenHash?: Buffer }>,
): Promise<void> {
  const CHUNK = 50_000
  for (let i = 0; i < voters.length; i += CHUNK) {
    const part = voters.slice(i, i + CHUNK)
    await db`
      insert into voters (election_id, id, region_id, token_hash)
      select ${electionId}, id, region_id, decode(token_hex, 'hex')
      from unnest(${part.map((v) => v.id)}::text[], ${part.map((v) => v.regionId)}::text[],
                  ${part.map((v) => v.tokenHash?.toString('hex') ?? null)}::text[]) as t(id, region_id, token_hex)
      on conflict do nothing`
  }
}

/**
 * Moves an election along its lifecycle. Idempotent: asking for the status it already
 * has is a no-op, so a retried activity is harmless. The status change takes a results
 * version (in commit order, see versions.ts), so clients following `?since=N` see it.
 */
/** A row of `elections` as stored: its settings not parsed yet. */
type StoredElection = Omit<ElectionRow, 'settings'> & { settings: unknown }

/** The one place `elections.settings` is read in TypeScript: parsed by its schema, never cast. */
function electionRow(row: StoredElection): ElectionRow {
  const settings = electionSettingsSchema.safeParse(row.settings)
  if (!settings.success) throw new Error(`election ${row.id}: its stored settings do not fit their schema: ${settings.error.message}`)
  return { ...row, settings: settings.data }
}

export async function setElectionStatus(db: Db, id: string, to: ElectionStatus): Promise<ElectionRow> {
  const stamp = { open: 'opened_at', closing: 'closed_at', closed: null, certified: 'certified_at', draft: null }[to]
  return inTransaction(db, async (tx) => {
    const [stored] = await tx<StoredElection[]>`select * from elections where id = ${id} for update`
    if (!stored) throw new AppError('not_found', `no election ${id}`)
    const current = electionRow(stored)
    if (current.status === to) return current
    if (!canTransition(current.status, to)) throw new AppError('conflict', `election ${id} is ${current.status}; it cannot become ${to}`)
    const version = await takeResultsVersion(tx, [id])
    const [row] = await tx<StoredElection[]>`
      update elections set status = ${to}, version = ${version}::bigint ${stamp ? tx`, ${tx(stamp)} = coalesce(${tx(stamp)}, now())` : tx``}
        ${to === 'closed' ? tx`, counted_version = ${version}::bigint` : tx``}
      where id = ${id}
      returning *`
    // At 'closed' the public results become the exact counts: a ranked contest's held
    // rankings go public too, or its per-region rounds (served from then on, from the box)
    // minus its rounds would give them back.
    if (to === 'closed') await releaseHeldRankings(tx, id)
    // A new status is news for the results topic too (at 'closed' its contests switch from
    // the released counts to the exact ones): the results publisher sends a snapshot.
    await tx`insert into results_dirty (election_id) values (${id}) on conflict (election_id) do update set marked_at = now()`
    return electionRow(row as StoredElection)
  })
}

export async function getElection(db: Db, id: string): Promise<ElectionRow> {
  const [row] = await db<StoredElection[]>`select * from elections where id = ${id}`
  if (!row) throw new AppError('not_found', `no election ${id}`)
  return electionRow(row)
}

/** The newest 200 elections. */
export async function listElections(db: Db): Promise<ElectionRow[]> {
  const rows = await db<StoredElection[]>`select * from elections order by created_at desc limit 200`
  return rows.map(electionRow)
}

/** JSON columns take plain JSON values; this drops `undefined` and checks the type. */
function toJson(v: ElectionSettings) {
  return JSON.parse(JSON.stringify(v))
}

/**
 * Creates a simulated election; its voter roll is written when it opens. `extra` joins the
 * stored simulation settings (the API keeps the rate there); `minCellBallots`, the election's
 * smallest public cell (the column's default when absent).
 */
export async function createSimulatedElection(
  db: Db,
  plan: SimulationPlan,
  name: string,
  extra: SimulationRun = {},
  options: { minCellBallots?: number } = {},
): Promise<void> {
  const sim = new Simulation(plan)
  await createElection(db, {
    id: plan.electionId,
    name,
    // An election with contests has no candidates of its own: its contests have them.
    candidates: sim.contests ? [] : plan.candidates,
    regions: plan.regions,
    simulated: true,
    settings: { simulation: { ...plan.settings, ...extra } },
    ...options,
  })
  if (sim.contests) {
    const definition = simulatedDefinition(plan.settings.seed, plan.regions.length, simulatedBallot(plan.settings))
    await saveDefinition(
      db,
      plan.electionId,
      (definition.districts ?? []).map((d) => ({ id: d.id, name: d.name, level: d.level ?? 'other' })),
      sim.contests.resolved,
    )
  }
}

/**
 * Writes the voter roll of a simulated election, as the generator defines it, a chunk at a
 * time from voter `from` on, calling `progress` with the next voter after each chunk: a
 * roll of millions takes minutes, and an activity that reports progress can resume where
 * it was (a voter written twice is ignored).
 */
export async function createSimulatedRoll(
  db: Db,
  plan: SimulationPlan,
  options: { from?: number; progress?: (next: number) => void } = {},
): Promise<void> {
  const sim = new Simulation(plan)
  const CHUNK = 50_000
  for (let start = options.from ?? 0; start < plan.settings.voters; start += CHUNK) {
    const end = Math.min(plan.settings.voters, start + CHUNK)
    const voters = Array.from({ length: end - start }, (_, k) => ({
      id: voterId(start + k),
      regionId: plan.regions[sim.regionIndexOf(start + k)]?.id ?? '',
    }))
    await addVoters(db, plan.electionId, voters)
    options.progress?.(end)
  }
}

/** Vacuums and analyzes the roll after a bulk load (the benchmark's; VACUUM cannot run in a transaction). */
export async function settleRoll(sql: Db): Promise<void> {
  await sql`vacuum (analyze) voters`
}

/**
 * Elections whose smallest public cell is below `min` (the API's floor): those created
 * before migration 0048 carry 10, whatever the deployment ran with. Read at the API's start
 * to say so; raising theirs is the operator's (docs/deploying.md).
 */
export async function electionsBelowMinCell(db: Db, min: number): Promise<{ count: number; ids: string[] }> {
  const rows = await db<{ id: string; n: number }[]>`
    select id, (count(*) over ())::int as n from elections where min_cell_ballots < ${min} order by created_at desc limit 20`
  return { count: rows[0]?.n ?? 0, ids: rows.map((r) => r.id) }
}
