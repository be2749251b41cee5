import type { Mark } from '../ballot.ts'
import { type ContestRules, isSimpleMajority, type ResolvedDefinition, WRITE_IN_SELECTION } from '../contests.ts'
import { indexDefinition, rcvRanking, type TabulationIndex } from '../tabulation.ts'
import {
  canonicalMarks,
  DEFAULT_CONTAINER_SIZE,
  type ExportBallot,
  ExportSequence,
  judge,
  type Placement,
  sortForExport,
} from './ballot-manifest.ts'
import { ncname } from './ncname.ts'

/**
 * The cast vote records of a closed election as a NIST SP 1500-103 CastVoteRecordReport
 * (JSON; standards/nist-1500-103-cvr.schema.json), one CVR per ballot of the ballot box.
 *
 * **The secret ballot.** The box holds, per counted ballot, its region, channel, style and
 * marks — nothing that names a voter, a position in the log or a time — and a record adds
 * nothing to that: no per-record timestamp (only the report's GeneratedDate, which the
 * caller gives), records in export order (ballot-manifest.ts: by the box's random id, or by
 * a keyed hash of the content — never arrival), and a UniqueId that is the box id or the
 * position in that order, not the "ordinal number processed by the tabulating device" the
 * standard describes. A shuffled input gives the same document.
 *
 * Names written in are kept as CVRWriteIn Text: they are already in the ballot box, an
 * audit must compare them with the paper, and the count's write-in line needs them
 * adjudicated. A name written in can identify a voter who means to be identified (a
 * pattern vote); that risk is the one every electronic CVR with write-in text carries, and
 * the published file should be reviewed (or the Text withheld by the publisher) where
 * small-cell rules demand it.
 *
 * **Mapping.**
 * - ReportingDevice / ReportGeneratingDeviceIds / CreatingDeviceId: one device, `votestream`.
 * - Election: Name; Contest per contest in ballot order — CandidateContest (VotesAllowed,
 *   NumberElected, VoteVariation plurality or n-of-m) with a CandidateSelection per declared
 *   candidate (CandidateIds → Election.Candidate, IsWriteIn for a declared write-in) and
 *   one IsWriteIn selection for names written in where the contest has write-in lines;
 *   BallotMeasureContest (VoteVariation majority or super-majority) with Yes and No
 *   BallotMeasureSelections. Candidate.PartyId → the report's Party, one per party name.
 * - GpUnit: the election's scope (Type other, OtherType jurisdiction; the Election's
 *   ElectionScopeId) and each region (Type precinct). This schema's GpUnit has no
 *   ComposingGpUnitIds, so the precincts cannot be nested under the scope or a state.
 * - CVR: BallotStyleId (the style id), BallotStyleUnitId (the precinct), BatchId and
 *   BatchSequenceId (ballot-manifest.ts), UniqueId, ElectionId, one CVRSnapshot. The
 *   snapshot's Type is `interpreted`: the standard's `original` is "before contest rules are
 *   applied", and this one carries them (IsAllocable, Overvotes). An electronic mark has no
 *   other reading, so there is no separate original to give.
 * - CVRContest: one per contest on the ballot's style, blank ones included (the standard
 *   allows it, and an auditor needs to know the contest was there), with the counter's own
 *   verdict (tabulation.ts): Overvotes and Undervotes are votes lost, as the standard
 *   defines them (allocated + Undervotes + Overvotes = VotesAllowed): an overvoted contest
 *   has Overvotes = VotesAllowed, Undervotes 0 and every mark IsAllocable `no`; otherwise
 *   Undervotes = VotesAllowed − marks. Status: overvoted, undervoted, not-indicated.
 *   WriteIns: the names written in, in contests that have write-in lines.
 * - CVRContestSelection: one per selection marked (OptionPosition: its place in the
 *   contest, from 1), with one SelectionPosition per mark (HasIndication yes, NumberVotes
 *   1, IsAllocable, CVRWriteIn Text for a name written in). Several names written in one
 *   contest are several positions of the one write-in selection, sorted by name.
 * - Not mapped: the election's date and test flag have no field in this schema; they are
 *   in the report's Notes.
 */

export const CVR_DEVICE = 'votestream'

export interface CvrElection {
  id: string
  name: string
  /** The election day, YYYY-MM-DD. */
  date: string
  isTest: boolean
  /** The report's GeneratedDate (the only time in the file): give the export's own instant, ISO 8601 with an offset. */
  generatedAt: string | Date
}

export interface CvrRegion {
  id: string
  name?: string
}

export interface CvrReportInput {
  election: CvrElection
  /** The definition as the counter resolves it (contests.ts resolveDefinition): contests, styles, each region's style. */
  definition: ResolvedDefinition
  /** The election's regions (precincts), in the order the GpUnits are listed. */
  regions: CvrRegion[]
  /** The ballot box's ballots. */
  ballots: Iterable<ExportBallot>
  /** Ballots per container (the manifest's); default 500. */
  containerSize?: number
  /** The ballots come in export order (the box read ordered by id): stream them as they come. Otherwise they are sorted first. */
  ordered?: boolean
}

type Json = Record<string, unknown>

/** The ids of the report's objects: NCNames, derived from VoteStream's ids without collisions (ncname.ts). */
export const cvrIds = {
  device: ncname('device', CVR_DEVICE),
  election: (electionId: string) => ncname('election', electionId),
  scope: (electionId: string) => ncname('scope', electionId),
  precinct: (regionId: string) => ncname('precinct', regionId),
  contest: (contestId: string) => ncname('contest', contestId),
  selection: (contestId: string, selectionId: string) => ncname('selection', contestId, selectionId),
  candidate: (contestId: string, selectionId: string) => ncname('candidate', contestId, selectionId),
  party: (name: string) => ncname('party', name),
  snapshot: (uniqueId: string) => ncname('snapshot', uniqueId),
}

/** The whole report as one object (the records sorted into export order). For a large box, stream `cvrReportChunks`. */
export function cvrReport(input: CvrReportInput): Json {
  const { head, records } = prepare(input)
  return { ...head, CVR: [...records] }
}

/**
 * The report as JSON text in chunks — `chunks.join('')` is `JSON.stringify(cvrReport(input))`
 * byte for byte — so a caller can stream (and hash, commitment.ts digestChunks) the file of
 * a million ballots without holding it. With `ordered: true` only one record is held at a
 * time; otherwise the ballots (not the text) are sorted in memory first.
 */
export function* cvrReportChunks(input: CvrReportInput, recordsPerChunk = 256): Generator<string> {
  const { head, records } = prepare(input)
  const open = JSON.stringify({ ...head, CVR: [] })
  // The CVR array is the last member: everything before its `[]}` is the head.
  yield open.slice(0, -2)
  let buffer: string[] = []
  let first = true
  for (const record of records) {
    buffer.push(JSON.stringify(record))
    if (buffer.length >= recordsPerChunk) {
      yield (first ? '' : ',') + buffer.join(',')
      first = false
      buffer = []
    }
  }
  if (buffer.length > 0) yield (first ? '' : ',') + buffer.join(',')
  yield ']}'
}

/**
 * The report written record by record, for a source read a piece at a time (the box
 * through a cursor): `open`, then `record(ballot)` for each ballot in export order (ids
 * ascending, or sortForExport's order), then `close`. Joined, the text equals
 * cvrReportChunks' for the same ballots.
 */
export function cvrWriter(input: Omit<CvrReportInput, 'ballots' | 'ordered'>) {
  const { head, index, sequence } = prepareHead(input)
  let first = true
  return {
    open: JSON.stringify({ ...head, CVR: [] }).slice(0, -2),
    record(ballot: ExportBallot): string {
      const text = (first ? '' : ',') + JSON.stringify(cvrOf(index, input.election.id, ballot, sequence.place(ballot)))
      first = false
      return text
    },
    close: ']}',
  }
}

function prepare(input: CvrReportInput): { head: Json; records: Iterable<Json> } {
  const { head, index, sequence } = prepareHead(input)
  const { election } = input
  const ballots = input.ordered ? input.ballots : sortForExport(input.ballots, election.id)
  function* records(): Generator<Json> {
    for (const ballot of ballots) yield cvrOf(index, election.id, ballot, sequence.place(ballot))
  }
  return { head, records: records() }
}

function prepareHead(input: Omit<CvrReportInput, 'ballots' | 'ordered'>) {
  const { election, definition } = input
  const index = indexDefinition(definition)
  const generated = input.election.generatedAt instanceof Date ? input.election.generatedAt.toISOString() : input.election.generatedAt
  const parties = [...new Set(definition.contests.flatMap((c) => c.selections.map((s) => s.party).filter((p): p is string => p !== null)))]
  const head: Json = {
    '@type': 'CVR.CastVoteRecordReport',
    Election: [
      {
        '@id': cvrIds.election(election.id),
        '@type': 'CVR.Election',
        Candidate: definition.contests
          .filter((c) => c.type === 'candidate')
          .flatMap((c) =>
            c.selections.map((s) => ({
              '@id': cvrIds.candidate(c.id, s.id),
              '@type': 'CVR.Candidate',
              Name: s.name,
              ...(s.party !== null ? { PartyId: cvrIds.party(s.party) } : {}),
            })),
          ),
        Contest: definition.contests.map(contestOf),
        ElectionScopeId: cvrIds.scope(election.id),
        Name: election.name,
      },
    ],
    GeneratedDate: generated,
    GpUnit: [
      { '@id': cvrIds.scope(election.id), '@type': 'CVR.GpUnit', Name: election.name, OtherType: 'jurisdiction', Type: 'other' },
      ...input.regions.map((r) => ({
        '@id': cvrIds.precinct(r.id),
        '@type': 'CVR.GpUnit',
        ...(r.name !== undefined ? { Name: r.name } : {}),
        Type: 'precinct',
      })),
    ],
    Notes:
      `VoteStream cast vote records of ${election.name} (${election.id}), election day ${election.date}.` +
      (election.isTest ? ' TEST ELECTION: simulated ballots, not an official record.' : '') +
      ' Records are in an order unrelated to casting; UniqueId is not a processing sequence number.',
    ...(parties.length > 0 ? { Party: parties.map((p) => ({ '@id': cvrIds.party(p), '@type': 'CVR.Party', Name: p })) } : {}),
    ReportGeneratingDeviceIds: [cvrIds.device],
    ReportType: ['originating-device-export'],
    ReportingDevice: [
      { '@id': cvrIds.device, '@type': 'CVR.ReportingDevice', Application: 'VoteStream', Manufacturer: 'VoteStream', Model: CVR_DEVICE },
    ],
    Version: '1.0.0',
  }
  const sequence = new ExportSequence(election.id, input.containerSize ?? DEFAULT_CONTAINER_SIZE)
  return { head, index, sequence }
}

function contestOf(c: ContestRules): Json {
  if (c.type === 'measure')
    return {
      '@id': cvrIds.contest(c.id),
      '@type': 'CVR.BallotMeasureContest',
      ContestSelection: c.selections.map((s) => ({
        '@id': cvrIds.selection(c.id, s.id),
        '@type': 'CVR.BallotMeasureSelection',
        Selection: s.name,
      })),
      Name: c.name,
      ...voteVariationOf(c),
    }
  return {
    '@id': cvrIds.contest(c.id),
    '@type': 'CVR.CandidateContest',
    ContestSelection: [
      ...c.selections.map((s) => ({
        '@id': cvrIds.selection(c.id, s.id),
        '@type': 'CVR.CandidateSelection',
        CandidateIds: [cvrIds.candidate(c.id, s.id)],
        ...(s.writeIn ? { IsWriteIn: true } : {}),
      })),
      ...(c.writeIns ? [{ '@id': cvrIds.selection(c.id, WRITE_IN_SELECTION), '@type': 'CVR.CandidateSelection', IsWriteIn: true }] : []),
    ],
    Name: c.name,
    NumberElected: c.numberElected,
    ...voteVariationOf(c),
    VotesAllowed: c.votesAllowed,
  }
}

function voteVariationOf(c: ContestRules): Json {
  if (c.rcv) return { VoteVariation: 'rcv' }
  if (c.type === 'candidate') return { VoteVariation: c.votesAllowed === 1 ? 'plurality' : 'n-of-m' }
  const t = c.threshold ?? { numerator: 1, denominator: 2 }
  if (isSimpleMajority(t)) return { VoteVariation: 'majority' }
  if (t.numerator * 2 > t.denominator) return { VoteVariation: 'super-majority' }
  return { OtherVoteVariation: `passes with at least ${t.numerator}/${t.denominator} of the votes`, VoteVariation: 'other' }
}

/** One ballot's record. Built from the canonical form of its marks, so equal ballots give equal records. */
function cvrOf(index: TabulationIndex, electionId: string, ballot: ExportBallot, at: Placement): Json {
  const outcomes = judge(index, ballot)
  const marks = new Map(canonicalMarks(ballot.marks))
  const snapshotId = cvrIds.snapshot(at.uniqueId)
  return {
    '@type': 'CVR.CVR',
    // The paper's imprint, when the ballot has a paper: what a comparison audit finds it by.
    ...(ballot.imprint ? { BallotAuditId: ballot.imprint } : {}),
    BallotStyleId: ballot.styleId,
    BallotStyleUnitId: cvrIds.precinct(ballot.regionId),
    BatchId: at.batch.name,
    BatchSequenceId: at.sequence,
    CVRSnapshot: [
      {
        '@id': snapshotId,
        '@type': 'CVR.CVRSnapshot',
        CVRContest: outcomes.map((o) => {
          const contest = index.contests.get(o.contestId) as ContestRules
          return cvrContestOf(contest, marks.get(o.contestId) ?? [], o.overvoted === 1, o.undervotes)
        }),
        Type: 'interpreted',
      },
    ],
    CreatingDeviceId: cvrIds.device,
    CurrentSnapshotId: snapshotId,
    ElectionId: cvrIds.election(electionId),
    UniqueId: at.uniqueId,
  }
}

function cvrContestOf(contest: ContestRules, made: Mark[], overvoted: boolean, undervotes: number): Json {
  if (contest.rcv) return rankedContestOf(contest, made)
  const allocable = overvoted ? 'no' : 'yes'
  const lines = [...contest.selections.map((s) => s.id), ...(contest.writeIns ? [WRITE_IN_SELECTION] : [])]
  const names = made.filter((m): m is { writeIn: string } => typeof m !== 'string').map((m) => m.writeIn)
  const selections: Json[] = []
  for (const [i, line] of lines.entries()) {
    const positions =
      line === WRITE_IN_SELECTION
        ? names.map((text) => ({
            '@type': 'CVR.SelectionPosition',
            CVRWriteIn: { '@type': 'CVR.CVRWriteIn', Text: text },
            HasIndication: 'yes',
            IsAllocable: allocable,
            NumberVotes: 1,
          }))
        : made.includes(line)
          ? [{ '@type': 'CVR.SelectionPosition', HasIndication: 'yes', IsAllocable: allocable, NumberVotes: 1 }]
          : []
    if (positions.length === 0) continue
    selections.push({
      '@type': 'CVR.CVRContestSelection',
      ContestSelectionId: cvrIds.selection(contest.id, line),
      OptionPosition: i + 1,
      SelectionPosition: positions,
      ...(overvoted ? { Status: ['invalidated-rules'] } : {}),
    })
  }
  const status = overvoted ? ['overvoted'] : made.length === 0 ? ['not-indicated', 'undervoted'] : undervotes > 0 ? ['undervoted'] : []
  return {
    '@type': 'CVR.CVRContest',
    ...(selections.length > 0 ? { CVRContestSelection: selections } : {}),
    ContestId: cvrIds.contest(contest.id),
    Overvotes: overvoted ? contest.votesAllowed : 0,
    ...(status.length > 0 ? { Status: status } : {}),
    Undervotes: undervotes,
    ...(contest.writeIns ? { WriteIns: names.length } : {}),
  }
}

/**
 * A ranked contest's record: each candidate with a position per rank it was marked at
 * (`Rank`, 1 = first choice), as 1500-103 records a ranked ballot. An overvoted rank gives
 * each of its candidates a position at that rank. Whether a mark counts is the rounds'
 * to decide (the contest's rules), so allocation is `unknown` here.
 */
function rankedContestOf(contest: ContestRules, made: Mark[]): Json {
  const ranking = rcvRanking(made)
  const selections: Json[] = []
  for (const [i, s] of contest.selections.entries()) {
    const positions = ranking.flatMap((marks, r) =>
      marks.includes(s.id)
        ? [{ '@type': 'CVR.SelectionPosition', HasIndication: 'yes', IsAllocable: 'unknown', NumberVotes: 1, Rank: r + 1 }]
        : [],
    )
    if (positions.length === 0) continue
    selections.push({
      '@type': 'CVR.CVRContestSelection',
      ContestSelectionId: cvrIds.selection(contest.id, s.id),
      OptionPosition: i + 1,
      SelectionPosition: positions,
    })
  }
  const blank = ranking.every((marks) => marks.length === 0)
  return {
    '@type': 'CVR.CVRContest',
    ...(selections.length > 0 ? { CVRContestSelection: selections } : {}),
    ContestId: cvrIds.contest(contest.id),
    Overvotes: 0,
    ...(blank ? { Status: ['not-indicated', 'undervoted'] } : {}),
    Undervotes: blank ? 1 : 0,
  }
}
