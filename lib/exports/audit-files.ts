import type { ResolvedDefinition } from '../../domain/contests.ts'
import {
  ballotManifest,
  ballotManifestCsv,
  batchTallier,
  batchTalliesCsv,
  DEFAULT_CONTAINER_SIZE,
} from '../../domain/exports/ballot-manifest.ts'
import { type Commitment, commit, digestFile, type FileDigest, Sha256 } from '../../domain/exports/commitment.ts'
import { cvrWriter } from '../../domain/exports/cvr.ts'
import { auditRegions, ballotBoxInIdOrder, boxCounts } from '../db/audit-files.ts'
import { loadDefinitions } from '../db/contests.ts'
import { type ElectionRow, getElection } from '../db/elections.ts'
import type { Db } from '../db/sql.ts'
import { electionDay } from './election-day.ts'

/**
 * The audit files of an election with contests, from its ballot box (issue 28 item 2): the
 * cast vote records (NIST SP 1500-103 JSON), the ballot manifest and each contest's batch
 * tallies (Arlo's CSV layouts), in the order of the box's random ids. The same box and the
 * same `generatedAt` give the same bytes, so the files are regenerated on request and
 * checked against the commitment stored when the election closed.
 */

export const CVR_FILE = 'cvr.json'
export const MANIFEST_FILE = 'ballot-manifest.csv'
/** A contest's batch tallies: its ballot position (unique) and its id made file-name safe. */
export const talliesFile = (position: number, contestId: string) =>
  `batch-tallies-${String(position).padStart(3, '0')}-${contestId.replace(/[^A-Za-z0-9._-]/g, '_')}.csv`

export interface AuditSource {
  election: ElectionRow
  definition: ResolvedDefinition
  regions: Array<{ id: string; name: string }>
}

/** What every audit file is made from besides the box; null for an election without contests. */
export async function auditSource(db: Db, electionId: string): Promise<AuditSource | null> {
  const election = await getElection(db, electionId)
  const definition = (await loadDefinitions(db, [electionId])).get(electionId)
  if (!definition) return null
  const regions = await auditRegions(db, electionId)
  return { election, definition, regions }
}

const cvrInput = (s: AuditSource, generatedAt: Date, containerSize: number) => ({
  election: {
    id: s.election.id,
    name: s.election.name,
    date: electionDay(s.election),
    isTest: s.election.simulated,
    generatedAt,
  },
  definition: s.definition,
  regions: s.regions,
  containerSize,
})

/** The file names of an election's audit set, in the order they are produced. */
export function auditFileNames(s: AuditSource): string[] {
  return [CVR_FILE, MANIFEST_FILE, ...s.definition.contests.map((c) => talliesFile(c.position, c.id))]
}

/** The cast vote records as text chunks, streamed from the box (call in one repeatable-read snapshot). */
export async function* cvrFile(db: Db, s: AuditSource, generatedAt: Date, containerSize: number): AsyncGenerator<string> {
  const writer = cvrWriter(cvrInput(s, generatedAt, containerSize))
  yield writer.open
  let chunk: string[] = []
  for await (const row of ballotBoxInIdOrder(db, s.election.id)) {
    chunk.push(writer.record(row))
    if (chunk.length >= 500) {
      yield chunk.join('')
      chunk = []
    }
  }
  yield chunk.join('') + writer.close
}

export async function manifestFile(db: Db, s: AuditSource, containerSize: number): Promise<string> {
  return ballotManifestCsv(ballotManifest({ electionId: s.election.id, counts: await boxCounts(db, s.election.id), containerSize }))
}

/** Every contest's batch tallies (one pass over the box), by file name. */
export async function talliesFiles(db: Db, s: AuditSource, containerSize: number): Promise<Map<string, string>> {
  const tallier = batchTallier({ electionId: s.election.id, definition: s.definition, containerSize })
  for await (const row of ballotBoxInIdOrder(db, s.election.id)) tallier.add(row)
  const byId = new Map(s.definition.contests.map((c) => [c.id, c]))
  return new Map(
    tallier.result().map((t) => [talliesFile(byId.get(t.contestId)?.position ?? 0, t.contestId), batchTalliesCsv(t, { overUnder: true })]),
  )
}

/**
 * Every file's digest and the commitment over the set, produced in one snapshot of the box
 * (two passes: the CVRs streamed through the hash, then the batch tallies). `progress` is
 * called between steps (an activity heartbeats there).
 */
export async function auditCommitment(
  db: Db,
  s: AuditSource,
  generatedAt: Date,
  options: { containerSize?: number; progress?: (step: string) => void } = {},
): Promise<Commitment & { ballots: number; containerSize: number }> {
  const containerSize = options.containerSize ?? DEFAULT_CONTAINER_SIZE
  const hash = new Sha256()
  const utf8 = new TextEncoder()
  let bytes = 0
  for await (const chunk of cvrFile(db, s, generatedAt, containerSize)) {
    const b = utf8.encode(chunk)
    hash.update(b)
    bytes += b.length
  }
  options.progress?.('cast vote records')
  const digests: FileDigest[] = [{ name: CVR_FILE, sha256: hash.hex(), bytes }]
  const manifest = await manifestFile(db, s, containerSize)
  digests.push(digestFile(MANIFEST_FILE, manifest))
  for (const [name, text] of await talliesFiles(db, s, containerSize)) digests.push(digestFile(name, text))
  options.progress?.('batch tallies')
  const ballots = (await boxCounts(db, s.election.id)).reduce((n, c) => n + c.ballots, 0)
  return { ...commit(digests), ballots, containerSize }
}
