import { countedVotes, type ReportedContest } from '../../domain/audit/bravo.ts'
import { SimulatedPaperStacks } from '../../domain/audit/simulated-papers.ts'
import type { Marks } from '../../domain/ballot.ts'
import type { ContestRules } from '../../domain/contests.ts'
import { WRITE_IN_SELECTION } from '../../domain/contests.ts'
import { AppError } from '../../domain/errors.ts'
import { ballotManifest, ballotManifestCsv, ExportSequence, type ManifestBatch } from '../../domain/exports/ballot-manifest.ts'
import { digestFile } from '../../domain/exports/commitment.ts'
import { Sha256 } from '../../domain/sha256.ts'
import type { Simulation } from '../../domain/simulation.ts'
import { type BoxRow, ballotBoxInIdOrder, boxCounts, type StoredCommitment } from '../db/audit-files.ts'
import { countedBallotIds } from '../db/audits.ts'
import type { Db } from '../db/sql.ts'
import { type AuditSource, CVR_FILE, cvrFile, MANIFEST_FILE } from './audit-files.ts'

/**
 * What a risk-limiting audit reads: the manifest its sample is drawn from (the published
 * one: same batches, same order) and the papers of the sampled places.
 *
 * The paper is not the ballot box's record — that is what the count counted, and an audit
 * that read it back could only agree. For a simulated election the papers are the
 * generator's own ballots, before any misread the plan injects (SimulatedPaperStacks): the
 * simulator is the paper, as the ballots in their containers are in a county. An election
 * cast through the API has no paper here; entering auditors' interpretations through the
 * API is not built yet.
 */

/**
 * The manifest's batches in order (each with its precinct, channel and container), as the
 * sampler takes them — checked byte for byte against the committed manifest's digest: a
 * sample is drawn from the published manifest or not at all.
 */
export async function auditManifest(db: Db, s: AuditSource, committed: StoredCommitment): Promise<ManifestBatch[]> {
  const manifest = ballotManifest({
    electionId: s.election.id,
    counts: await boxCounts(db, s.election.id),
    containerSize: committed.containerSize,
  })
  const digest = digestFile(MANIFEST_FILE, ballotManifestCsv(manifest))
  const published = committed.files.find((f) => f.name === MANIFEST_FILE)
  if (!published || published.sha256 !== digest.sha256) {
    throw new AppError(
      'conflict',
      `the box of ${s.election.id} no longer gives the committed ballot manifest: no sample can be drawn from it`,
    )
  }
  return manifest.batches
}

/** A drawn place of the manifest: batch name and 1-based position. */
export const placeKey = (batch: string, position: number) => `${batch}#${position}`

/**
 * The cast vote records at the drawn places (batch × position, as the published records
 * place them: the box in the order of its ids, cut as the manifest cuts it), in one pass
 * over the box through a cursor, yielding between chunks. Places the box does not fill are
 * left out.
 */
export async function recordsAtPlaces(
  db: Db,
  s: AuditSource,
  containerSize: number,
  places: ReadonlySet<string>,
): Promise<Map<string, BoxRow>> {
  const sequence = new ExportSequence(s.election.id, containerSize)
  const found = new Map<string, BoxRow>()
  let seen = 0
  for await (const row of ballotBoxInIdOrder(db, s.election.id)) {
    const at = sequence.place(row)
    const key = placeKey(at.batch.name, at.sequence)
    if (places.has(key)) found.set(key, row)
    if (++seen % 20_000 === 0) await new Promise((r) => setImmediate(r))
  }
  return found
}

/**
 * What a comparison audit compares papers with must be what was published and what was
 * reported: the records at the drawn places are read from the box, so the box must still
 * give the committed cast vote records byte for byte, and its records must add up to the
 * reported votes of every audited contest (Stark's precondition: the CVRs tally to the
 * reported results). Otherwise a box or a count changed after the commitment — a record
 * rewritten once the seed was known, a total moved — could be "confirmed". Two passes over
 * the box; throws a conflict naming the difference.
 */
export async function checkRecordsAreTheReported(
  db: Db,
  s: AuditSource,
  committed: StoredCommitment,
  contests: readonly ReportedContest[],
): Promise<void> {
  const hash = new Sha256()
  for await (const chunk of cvrFile(db, s, committed.generatedAt, committed.containerSize)) hash.update(chunk)
  const published = committed.files.find((f) => f.name === CVR_FILE)
  if (!published || published.sha256 !== hash.hex())
    throw new AppError('conflict', `the box of ${s.election.id} no longer gives the committed cast vote records: no comparison with them`)
  const ids = contests.map((c) => c.rules.id)
  const tallied = new Map(contests.map((c) => [c.rules.id, new Map<string, number>()]))
  let seen = 0
  for await (const row of ballotBoxInIdOrder(db, s.election.id)) {
    const read = interpretation(row.marks, ids)
    for (const c of contests) {
      const t = tallied.get(c.rules.id) as Map<string, number>
      for (const line of countedVotes(c.rules, read[c.rules.id])) t.set(line, (t.get(line) ?? 0) + 1)
    }
    if (++seen % 20_000 === 0) await new Promise((r) => setImmediate(r))
  }
  for (const c of contests) {
    const t = tallied.get(c.rules.id) as Map<string, number>
    for (const line of new Set([...t.keys(), ...Object.keys(c.votes)])) {
      const reported = c.votes[line] ?? 0
      if ((t.get(line) ?? 0) !== reported)
        throw new AppError(
          'conflict',
          `${c.rules.id}: the cast vote records give ${line} ${t.get(line) ?? 0} votes, the reported results ${reported}: no comparison with them`,
        )
    }
  }
}

/** A paper's marks as an audit reads them, for the audited contests only: a name written in is the write-in line. */
export function interpretation(marks: Marks, contestIds: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const id of contestIds) {
    // Own keys only: a contest called `constructor` must not find Object's.
    const ms = Object.hasOwn(marks, id) ? marks[id] : undefined
    if (ms) out[id] = ms.map((m) => (typeof m === 'string' ? m : WRITE_IN_SELECTION))
  }
  return out
}

/**
 * The papers of a simulated election stacked as the manifest holds the counted ballots,
 * `chunk` ballots at a time with a yield between (an activity heartbeats meanwhile).
 * Throws when a cell's papers and the manifest's ballots differ in number.
 */
export async function simulatedPapers(sim: Simulation, manifest: readonly ManifestBatch[], chunk = 50_000): Promise<SimulatedPaperStacks> {
  const produced = manifest.reduce((n, b) => n + b.ballots, 0)
  const stacks = new SimulatedPaperStacks(sim, produced)
  while (!stacks.add(chunk)) await new Promise((r) => setImmediate(r))
  const cells = new Map<string, { regionId: string; channel: ManifestBatch['channel']; ballots: number }>()
  for (const b of manifest) {
    const key = `${b.regionId}\u0000${b.channel}`
    const cell = cells.get(key) ?? { regionId: b.regionId, channel: b.channel, ballots: 0 }
    cell.ballots += b.ballots
    cells.set(key, cell)
  }
  for (const c of cells.values()) {
    const papers = stacks.stackSize(c.regionId, c.channel)
    if (papers !== c.ballots)
      throw new AppError('conflict', `${c.regionId}/${c.channel}: ${papers} papers, ${c.ballots} ballots in the manifest`)
  }
  return stacks
}

/**
 * Every paper counted by hand with the count's own rules (an overvoted contest counts for
 * no one; each name written in is a vote for the write-in line): votes per audited contest
 * and line, yielding every `chunk` papers.
 */
export async function fullHandCount(
  sim: Simulation,
  produced: number,
  contests: readonly ContestRules[],
  chunk = 20_000,
): Promise<Record<string, Record<string, number>>> {
  const votes = new Map(contests.map((c) => [c.id, new Map<string, number>()]))
  const ids = contests.map((c) => c.id)
  for (let k = 0; k < produced; k++) {
    const paper = sim.paper(k)
    if (!paper) throw new AppError('conflict', `the generator has no ballot ${k}`)
    const read = interpretation(paper, ids)
    for (const contest of contests) {
      const tally = votes.get(contest.id) as Map<string, number>
      for (const sel of countedVotes(contest, read[contest.id])) tally.set(sel, (tally.get(sel) ?? 0) + 1)
    }
    if ((k + 1) % chunk === 0) await new Promise((r) => setImmediate(r))
  }
  return Object.fromEntries([...votes].map(([id, t]) => [id, Object.fromEntries(t)]))
}

/**
 * The papers of a simulated election are its generator's ballots 0..N−1 only if those are
 * exactly the ballots counted: checked by their ids against the counting ledger (a voter of
 * a simulation can also cast through the API, and a simulation stopped mid-stream counts a
 * prefix). Throws a conflict naming the difference.
 */
export async function checkPapersAreTheCount(db: Db, sim: Simulation, electionId: string, N: number, chunk = 50_000): Promise<void> {
  const counted = new Set<string>()
  for await (const id of countedBallotIds(db, electionId)) counted.add(id)
  let found = 0
  let seen = 0
  for (const [id] of sim.ballotIds(0, N)) {
    if (counted.has(id)) found++
    if (++seen % chunk === 0) await new Promise((r) => setImmediate(r))
  }
  if (found !== N || counted.size !== N) {
    throw new AppError(
      'conflict',
      `the papers are not the count: ${found} of the generator's first ${N} ballots were counted, and ${counted.size} ballots in all`,
    )
  }
}
