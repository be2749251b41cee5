import { CHANNELS, type Channel } from '../ballot.ts'
import {
  type BallotCell,
  DEFAULT_MIN_CELL_BALLOTS,
  hiddenRegionsOf,
  isSmallCell,
  type RegionInfo,
  resultLines,
  suppressed,
  type VoteCell,
} from '../contest-results.ts'
import { type ContestRules, type DISTRICT_LEVELS, isSimpleMajority, WRITE_IN_SELECTION } from '../contests.ts'
import { type ElectionStatus, type ReportingStatus, reportingStatus } from '../election.ts'
import type { RcvResult } from '../rcv/tabulate.ts'
import { ncname } from './ncname.ts'

/**
 * An election's results as a NIST SP 1500-100 Rev. 2 Election Results Reporting Common
 * Data Format document (JSON, `standards/nist-1500-100-v2-results.schema.json`), at
 * precinct level: every selection of every contest counted per vote type (election day,
 * early, absentee by mail, total) at each precinct, each state (the regions' grouping) and
 * the whole jurisdiction, with overvotes, undervotes and write-ins per unit, the GpUnit
 * hierarchy with precincts reporting, registered voters and ballots cast, the lifecycle as
 * `Status`, `IsTest` for simulations, NCName ids (ncname.ts) and small cells suppressed.
 *
 * Pure: the API route, CI and the tests turn the same numbers into the same document.
 *
 * Small cells. The per-contest page (contest-results.ts) already publishes each region's
 * totals and each channel's totals with `hiddenRegionsOf()` and `suppressed()` applied; this document must not give
 * back what that page hides, and must not publish a finer cell (a precinct × vote type) of
 * 1..min-1 ballots. So the page's choices are kept as they are (a region or channel hidden
 * there is hidden here, one shown there is shown here), and the finer cells are hidden by
 * the same rule — a small cell, then the smallest others — applied to every sum the
 * document shows (a precinct's total over its vote types, a state's count per type over
 * its precincts, …) until, in every sum, either nothing is hidden or at least two cells
 * are hidden that add up to at least `min` ballots. Counts are never negative, so a 0 shown
 * above hidden cells pins them, and a sum beside them could then give a small cell's votes
 * back: each count line (a selection, the undervotes, the overvotes) is then audited on its
 * own, and more hidden until no small cell's count on it comes out known and not 0
 * (`protectCells`). A hidden count is published as `Count: 0` with
 * `IsSuppressedForPrivacy: true` (NIST requires `Count`); a unit whose total is hidden has
 * no `OtherCounts` for that contest (they carry no suppression flag).
 */

/** VoteStream's channels as NIST's `CountItemType`. */
export const CDF_COUNT_TYPE = {
  election_day: 'election-day',
  early: 'early',
  mail: 'absentee-mail',
} as const satisfies Record<Channel, string>
export type CdfCountType = (typeof CDF_COUNT_TYPE)[Channel] | 'total'

export const CDF_RESULTS_STATUSES = ['pre-election', 'unofficial-partial', 'unofficial-complete', 'certified'] as const
export type CdfResultsStatus = (typeof CDF_RESULTS_STATUSES)[number]

/** The lifecycle in NIST's words: nothing counted yet is a pre-election (zero) report. */
export function cdfResultsStatus(status: ElectionStatus | ReportingStatus): CdfResultsStatus {
  const reporting: ReportingStatus =
    status === 'not-started' || status === 'unofficial-partial' || status === 'unofficial-complete' ? status : reportingStatus(status)
  return reporting === 'not-started' ? 'pre-election' : reporting
}

/** NIST's ReportingUnitType values used for the jurisdiction and the regions' grouping. */
export type CdfReportingUnitType =
  | 'country'
  | 'state'
  | 'county'
  | 'city'
  | 'municipality'
  | 'town'
  | 'township'
  | 'ward'
  | 'congressional'
  | 'school'
  | 'special'
  | 'other'
export type CdfElectionType = 'general' | 'primary' | 'special' | 'runoff' | 'other'

export interface CdfContestInput {
  rules: ContestRules
  /** The contest's regions (its district resolved: ResolvedDefinition.regionsOfContest). */
  regions: string[]
  /** Its counts: votes per region × channel × line (declared selections and `write-in`). */
  votes: VoteCell[]
  /** Its ballots, undervotes (votes) and overvotes (ballots) per region × channel. */
  ballots: BallotCell[]
  /** A ranked contest's rounds over every ballot counted (domain/rcv/contest-rounds.ts): VoteCounts with `Round`. */
  rounds?: RcvResult
}

export interface CdfResultsInput {
  election: {
    id: string
    name: string
    /** Election day, YYYY-MM-DD (a full ISO instant is cut to its date). */
    date: string
    /** The lifecycle (domain/election.ts), either form. */
    status: ElectionStatus | ReportingStatus
    /** A simulation or a test election: `IsTest` in the report. */
    isTest: boolean
    /** What kind of test (e.g. `simulation`); only when isTest. */
    testType?: string
    /** Default `general`. */
    type?: CdfElectionType
  }
  /** When the document is produced: an ISO instant (milliseconds dropped). */
  generatedAt: string
  issuer: string
  /** Default: the issuer's initials. */
  issuerAbbreviation?: string
  /** Default `VoteStream`. */
  vendorApplicationId?: string
  /** The report's unit of 1..n: the sequence of documents this one belongs to. Default 1 of 1. */
  sequence?: { start: number; end: number }
  /** The top-level GpUnit, composed of the regions' groups. Default type `country`. */
  jurisdiction: { name: string; type?: CdfReportingUnitType }
  /** What the regions' `state` is (a state, a county). Default `state`. */
  groupType?: CdfReportingUnitType
  /**
   * Every precinct of the election, in the order the per-contest page lists a contest's
   * (by state, then name: lib/db/cdf-export.ts reads them so): the page breaks ties between
   * cells of equal ballots in that order, and this document must hide what the page hides.
   */
  regions: RegionInfo[]
  /** The districts contests belong to (ContestRules.district); unknown ones are named by their id. */
  districts?: Array<{ id: string; name: string; level: (typeof DISTRICT_LEVELS)[number] }>
  contests: CdfContestInput[]
  /** Ballots counted per region (any channel): BallotCounts, VotersParticipated, and whether it reported. */
  turnout: Array<{ regionId: string; ballots: number }>
  minCellBallots?: number
}

// --- The document's shapes (the parts of NIST's schema this export fills) ---

export interface CdfText {
  '@type': 'ElectionResults.InternationalizedText'
  Text: Array<{ '@type': 'ElectionResults.LanguageString'; Content: string; Language: string }>
}
export interface CdfVoteCounts {
  '@type': 'ElectionResults.VoteCounts'
  GpUnitId: string
  Type: CdfCountType
  Count: number
  IsSuppressedForPrivacy?: true
  /** A ranked contest's round (1, 2, …): the candidate's votes in that round, jurisdiction-wide. */
  Round?: number
}
export interface CdfOtherCounts {
  '@type': 'ElectionResults.OtherCounts'
  GpUnitId: string
  Overvotes: number
  Undervotes: number
  WriteIns: number
}
export interface CdfExternalIdentifier {
  '@type': 'ElectionResults.ExternalIdentifier'
  Type: 'local-level'
  Value: string
}
export interface CdfReportingUnit {
  '@type': 'ElectionResults.ReportingUnit'
  '@id': string
  Type: string
  OtherType?: string
  Name: CdfText
  ExternalIdentifier?: CdfExternalIdentifier[]
  ComposingGpUnitIds?: string[]
  SubUnitsReported?: number
  TotalSubUnits?: number
  VotersRegistered?: number
  VotersParticipated?: number
}
export interface CdfCandidateSelection {
  '@type': 'ElectionResults.CandidateSelection'
  '@id': string
  SequenceOrder: number
  CandidateIds?: string[]
  IsWriteIn?: true
  VoteCounts: CdfVoteCounts[]
}
export interface CdfBallotMeasureSelection {
  '@type': 'ElectionResults.BallotMeasureSelection'
  '@id': string
  SequenceOrder: number
  Selection: CdfText
  VoteCounts: CdfVoteCounts[]
}
interface CdfContestCommon {
  '@id': string
  Name: string
  ElectionDistrictId: string
  SequenceOrder: number
  ExternalIdentifier: CdfExternalIdentifier[]
  BallotTitle: CdfText
  SubUnitsReported: number
  TotalSubUnits: number
  OtherCounts: CdfOtherCounts[]
}
export interface CdfCandidateContest extends CdfContestCommon {
  '@type': 'ElectionResults.CandidateContest'
  VotesAllowed: number
  NumberElected: number
  VoteVariation: 'plurality' | 'n-of-m' | 'rcv'
  ContestSelection: CdfCandidateSelection[]
}
export interface CdfBallotMeasureContest extends CdfContestCommon {
  '@type': 'ElectionResults.BallotMeasureContest'
  Type: 'ballot-measure'
  VoteVariation: 'majority' | 'super-majority'
  PassageThreshold: CdfText
  ContestSelection: CdfBallotMeasureSelection[]
}
export type CdfContest = CdfCandidateContest | CdfBallotMeasureContest
export interface CdfCandidate {
  '@type': 'ElectionResults.Candidate'
  '@id': string
  BallotName: CdfText
  PartyId?: string
  ExternalIdentifier: CdfExternalIdentifier[]
}
export interface CdfParty {
  '@type': 'ElectionResults.Party'
  '@id': string
  Name: CdfText
}
export interface CdfBallotCounts {
  '@type': 'ElectionResults.BallotCounts'
  GpUnitId: string
  Type: 'total'
  BallotsCast: number
}
export interface CdfElection {
  '@type': 'ElectionResults.Election'
  Name: CdfText
  Type: CdfElectionType
  StartDate: string
  EndDate: string
  ElectionScopeId: string
  ExternalIdentifier: CdfExternalIdentifier[]
  BallotCounts: CdfBallotCounts[]
  Candidate: CdfCandidate[]
  Contest: CdfContest[]
}
export interface CdfElectionReport {
  '@type': 'ElectionResults.ElectionReport'
  Format: 'precinct-level'
  GeneratedDate: string
  Issuer: string
  IssuerAbbreviation: string
  VendorApplicationId: string
  SequenceStart: number
  SequenceEnd: number
  Status: CdfResultsStatus
  IsTest: boolean
  TestType?: string
  Notes: string
  GpUnit: CdfReportingUnit[]
  Party: CdfParty[]
  Election: CdfElection[]
}

/** The ids the document gives VoteStream's things: NCNames, one kind per prefix. */
export const cdfIds = {
  jurisdiction: (electionId: string) => ncname('top', electionId),
  group: (state: string) => ncname('grp', state),
  precinct: (regionId: string) => ncname('pct', regionId),
  district: (districtId: string) => ncname('dst', districtId),
  contest: (contestId: string) => ncname('con', contestId),
  selection: (contestId: string, selectionId: string) => ncname('sel', contestId, selectionId),
  candidate: (contestId: string, selectionId: string) => ncname('can', contestId, selectionId),
  party: (party: string) => ncname('par', party),
}

const NOTES =
  'Produced by VoteStream. Overvotes count the ballots overvoted in the contest; Undervotes count the votes left unused ' +
  '(so, per unit: the sum of the selections + Undervotes + Overvotes x VotesAllowed = ballots x VotesAllowed). WriteIns ' +
  'count the votes on write-in selections. SubUnitsReported/TotalSubUnits count precincts. A count with ' +
  'IsSuppressedForPrivacy has Count 0: it covers too few ballots to publish (or would give such a cell back), and a ' +
  'unit whose total is suppressed for a contest has no OtherCounts for it.'

const TYPES = [...CHANNELS.map((c) => CDF_COUNT_TYPE[c]), 'total'] as const satisfies readonly CdfCountType[]

export function cdfResultsReport(input: CdfResultsInput): CdfElectionReport {
  const min = input.minCellBallots ?? DEFAULT_MIN_CELL_BALLOTS
  const status = cdfResultsStatus(input.election.status)
  const finished = status === 'unofficial-complete' || status === 'certified'
  const lang = (s: string) => text(s)
  const regionById = new Map(input.regions.map((r) => [r.id, r]))
  if (regionById.size !== input.regions.length) throw new Error('cdfResultsReport: a region is listed twice')
  const turnout = new Map<string, number>()
  for (const t of input.turnout) {
    if (!regionById.has(t.regionId)) throw new Error(`cdfResultsReport: turnout of unknown region ${t.regionId}`)
    turnout.set(t.regionId, (turnout.get(t.regionId) ?? 0) + t.ballots)
  }
  const reported = (regionId: string) => finished || (turnout.get(regionId) ?? 0) > 0

  // --- GpUnits: jurisdiction → groups (states) → precincts; districts over precincts ---
  const topId = cdfIds.jurisdiction(input.election.id)
  const groups = new Map<string, RegionInfo[]>()
  for (const r of input.regions) {
    const list = groups.get(r.state)
    if (list) list.push(r)
    else groups.set(r.state, [r])
  }
  const sumOf = (rs: RegionInfo[], f: (r: RegionInfo) => number) => rs.reduce((s, r) => s + f(r), 0)
  const aggregate = (rs: RegionInfo[]) => ({
    SubUnitsReported: rs.filter((r) => reported(r.id)).length,
    TotalSubUnits: rs.length,
    VotersRegistered: sumOf(rs, (r) => r.registeredVoters),
    VotersParticipated: sumOf(rs, (r) => turnout.get(r.id) ?? 0),
  })
  const groupType = input.groupType ?? 'state'
  const gpUnits: CdfReportingUnit[] = [
    {
      '@type': 'ElectionResults.ReportingUnit',
      '@id': topId,
      ...reportingUnitType(input.jurisdiction.type ?? 'country'),
      Name: lang(input.jurisdiction.name),
      ComposingGpUnitIds: [...groups.keys()].map(cdfIds.group),
      ...aggregate(input.regions),
    },
    ...[...groups].map(
      ([state, rs]): CdfReportingUnit => ({
        '@type': 'ElectionResults.ReportingUnit',
        '@id': cdfIds.group(state),
        ...reportingUnitType(groupType),
        Name: lang(state),
        ComposingGpUnitIds: rs.map((r) => cdfIds.precinct(r.id)),
        ...aggregate(rs),
      }),
    ),
    ...input.regions.map(
      (r): CdfReportingUnit => ({
        '@type': 'ElectionResults.ReportingUnit',
        '@id': cdfIds.precinct(r.id),
        Type: 'precinct',
        Name: lang(r.name),
        ExternalIdentifier: [external(r.id)],
        VotersRegistered: r.registeredVoters,
        VotersParticipated: turnout.get(r.id) ?? 0,
      }),
    ),
  ]
  const districtInfo = new Map((input.districts ?? []).map((d) => [d.id, d]))
  const districtRegions = new Map<string, Set<string>>()
  for (const c of input.contests) {
    const set = districtRegions.get(c.rules.district) ?? new Set<string>()
    for (const r of c.regions) set.add(r)
    districtRegions.set(c.rules.district, set)
  }
  for (const [id, rs] of districtRegions) {
    const d = districtInfo.get(id)
    const list = [...rs].map((r) => regionById.get(r)).filter((r): r is RegionInfo => r !== undefined)
    gpUnits.push({
      '@type': 'ElectionResults.ReportingUnit',
      '@id': cdfIds.district(id),
      ...districtType(d?.level ?? 'other'),
      Name: lang(d?.name ?? id),
      ExternalIdentifier: [external(id)],
      ComposingGpUnitIds: list.map((r) => cdfIds.precinct(r.id)),
      ...aggregate(list),
    })
  }

  // --- Parties and candidates ---
  const parties = new Map<string, CdfParty>()
  const candidates: CdfCandidate[] = []
  for (const c of input.contests)
    for (const s of c.rules.type === 'candidate' ? c.rules.selections : []) {
      if (s.party && !parties.has(s.party))
        parties.set(s.party, { '@type': 'ElectionResults.Party', '@id': cdfIds.party(s.party), Name: lang(s.party) })
      candidates.push({
        '@type': 'ElectionResults.Candidate',
        '@id': cdfIds.candidate(c.rules.id, s.id),
        BallotName: lang(s.name),
        ...(s.party ? { PartyId: cdfIds.party(s.party) } : {}),
        ExternalIdentifier: [external(s.id)],
      })
    }

  const listed = new Map(input.regions.map((r, i) => [r.id, i]))
  const pageOrder = (a: RegionInfo, b: RegionInfo) => (listed.get(a.id) as number) - (listed.get(b.id) as number)
  const contests = input.contests.map((c) => contestOf(c, regionById, pageOrder, topId, min, reported, lang))

  const ballotCounts: CdfBallotCounts[] = gpUnits
    .filter((u) => u.VotersParticipated !== undefined && !u['@id'].startsWith('dst-'))
    .map((u) => ({
      '@type': 'ElectionResults.BallotCounts',
      GpUnitId: u['@id'],
      Type: 'total',
      BallotsCast: u.VotersParticipated as number,
    }))

  const date = input.election.date.slice(0, 10)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`cdfResultsReport: election date ${input.election.date} is not YYYY-MM-DD`)
  const generated = new Date(input.generatedAt)
  if (Number.isNaN(generated.getTime())) throw new Error(`cdfResultsReport: generatedAt ${input.generatedAt} is not an instant`)

  return {
    '@type': 'ElectionResults.ElectionReport',
    Format: 'precinct-level',
    GeneratedDate: generated.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Issuer: input.issuer,
    IssuerAbbreviation: input.issuerAbbreviation ?? initials(input.issuer),
    VendorApplicationId: input.vendorApplicationId ?? 'VoteStream',
    SequenceStart: input.sequence?.start ?? 1,
    SequenceEnd: input.sequence?.end ?? 1,
    Status: status,
    IsTest: input.election.isTest,
    ...(input.election.isTest && input.election.testType ? { TestType: input.election.testType } : {}),
    Notes: NOTES,
    GpUnit: gpUnits,
    Party: [...parties.values()],
    Election: [
      {
        '@type': 'ElectionResults.Election',
        Name: lang(input.election.name),
        Type: input.election.type ?? 'general',
        StartDate: date,
        EndDate: date,
        ElectionScopeId: topId,
        ExternalIdentifier: [external(input.election.id)],
        BallotCounts: ballotCounts,
        Candidate: candidates,
        Contest: contests,
      },
    ],
  }
}

function contestOf(
  c: CdfContestInput,
  regionById: ReadonlyMap<string, RegionInfo>,
  pageOrder: (a: RegionInfo, b: RegionInfo) => number,
  topId: string,
  min: number,
  reported: (regionId: string) => boolean,
  lang: (s: string) => CdfText,
): CdfContest {
  const { rules } = c
  const lines = resultLines(rules)
  const regions = c.regions.map((id) => {
    const r = regionById.get(id)
    if (!r) throw new Error(`cdfResultsReport: contest ${rules.id} covers unknown region ${id}`)
    return r
  })
  const table = countTable(c, regions, pageOrder, topId, min)
  const writeInLines = lines.filter((s) => s.writeIn).map((s) => s.id)
  const otherCounts: CdfOtherCounts[] = []
  for (const unit of table.units) {
    const node = table.node(unit, 'total')
    if (table.hidden.has(node)) continue
    const a = table.acc[node] as Acc
    otherCounts.push({
      '@type': 'ElectionResults.OtherCounts',
      GpUnitId: unit,
      Overvotes: a.overvotes,
      Undervotes: a.undervotes,
      WriteIns: writeInLines.reduce((s, id) => s + (a.votes.get(id) ?? 0), 0),
    })
  }
  const voteCounts = (selectionId: string): CdfVoteCounts[] =>
    table.units.flatMap((unit) =>
      TYPES.map((type): CdfVoteCounts => {
        const node = table.node(unit, type)
        return table.hidden.has(node)
          ? { '@type': 'ElectionResults.VoteCounts', GpUnitId: unit, Type: type, Count: 0, IsSuppressedForPrivacy: true }
          : {
              '@type': 'ElectionResults.VoteCounts',
              GpUnitId: unit,
              Type: type,
              Count: (table.acc[node] as Acc).votes.get(selectionId) ?? 0,
            }
      }),
    )
  const common: CdfContestCommon = {
    '@id': cdfIds.contest(rules.id),
    Name: rules.name,
    ElectionDistrictId: cdfIds.district(rules.district),
    SequenceOrder: rules.position + 1,
    ExternalIdentifier: [external(rules.id)],
    BallotTitle: lang(rules.name),
    SubUnitsReported: regions.filter((r) => reported(r.id)).length,
    TotalSubUnits: regions.length,
    OtherCounts: otherCounts,
  }
  if (rules.type === 'measure') {
    const t = rules.threshold ?? { numerator: 1, denominator: 2 }
    const simple = isSimpleMajority(t)
    return {
      '@type': 'ElectionResults.BallotMeasureContest',
      ...common,
      Type: 'ballot-measure',
      VoteVariation: simple ? 'majority' : 'super-majority',
      PassageThreshold: lang(
        simple
          ? 'More than 1/2 of the votes cast on the measure (yes + no); a tie fails'
          : `At least ${t.numerator}/${t.denominator} of the votes cast on the measure (yes + no)`,
      ),
      ContestSelection: lines.map((s, i) => ({
        '@type': 'ElectionResults.BallotMeasureSelection',
        '@id': cdfIds.selection(rules.id, s.id),
        SequenceOrder: i + 1,
        Selection: lang(s.name),
        VoteCounts: voteCounts(s.id),
      })),
    }
  }
  return {
    '@type': 'ElectionResults.CandidateContest',
    ...common,
    VotesAllowed: rules.votesAllowed,
    NumberElected: rules.numberElected,
    // A ranked contest's counts without `Round` are its first choices (tabulation.ts), per
    // precinct and vote type; its rounds follow as VoteCounts with `Round`, jurisdiction-wide.
    VoteVariation: rules.rcv ? 'rcv' : rules.votesAllowed > 1 ? 'n-of-m' : 'plurality',
    ContestSelection: lines.map((s, i) => ({
      '@type': 'ElectionResults.CandidateSelection',
      '@id': cdfIds.selection(rules.id, s.id),
      SequenceOrder: i + 1,
      ...(s.id === WRITE_IN_SELECTION && s.writeIn ? {} : { CandidateIds: [cdfIds.candidate(rules.id, s.id)] }),
      ...(s.writeIn ? { IsWriteIn: true as const } : {}),
      VoteCounts: [...voteCounts(s.id), ...roundCounts(s.id)],
    })),
  }

  /** Each round the candidate was continuing in; none while the contest is a small cell (its rounds would show those few voters' rankings). */
  function roundCounts(selectionId: string): CdfVoteCounts[] {
    const rounds = c.rounds
    // The API's rule (domain/rcv/contest-rounds.ts): blank ballots hide nobody.
    if (!rules.rcv || !rounds || rounds.ballots - rounds.undervotes < min) return []
    return rounds.rounds.flatMap((r): CdfVoteCounts[] =>
      selectionId in r.tally
        ? [{ '@type': 'ElectionResults.VoteCounts', GpUnitId: topId, Type: 'total', Count: r.tally[selectionId] ?? 0, Round: r.round }]
        : [],
    )
  }
}

interface Acc {
  ballots: number
  undervotes: number
  overvotes: number
  votes: Map<string, number>
}

/**
 * One contest's counts as a table of nodes (GpUnit × count type) — precincts, their groups,
 * the jurisdiction — with the nodes to hide. See `hideCells`.
 */
function countTable(
  c: CdfContestInput,
  regions: RegionInfo[],
  pageOrder: (a: RegionInfo, b: RegionInfo) => number,
  topId: string,
  min: number,
) {
  const channelType = (ch: string) => {
    const t = (CDF_COUNT_TYPE as Record<string, CdfCountType>)[ch]
    if (!t) throw new Error(`cdfResultsReport: contest ${c.rules.id} has counts of unknown channel ${ch}`)
    return t
  }
  const inContest = new Set(regions.map((r) => r.id))
  const byGroup = new Map<string, string[]>()
  for (const r of regions) {
    const g = cdfIds.group(r.state)
    const list = byGroup.get(g)
    if (list) list.push(cdfIds.precinct(r.id))
    else byGroup.set(g, [cdfIds.precinct(r.id)])
  }
  const children = new Map<string, string[]>([[topId, [...byGroup.keys()]], ...byGroup])
  const units = [topId, ...byGroup.keys(), ...regions.map((r) => cdfIds.precinct(r.id))]
  // Node = unit's position × the types + the type's (a few hundred thousand look-ups at 5,000 precincts).
  const unitIndex = new Map(units.map((u, i) => [u, i]))
  const typeIndex = new Map<CdfCountType, number>(TYPES.map((t, i) => [t, i]))
  const node = (unit: string, type: CdfCountType) => (unitIndex.get(unit) as number) * TYPES.length + (typeIndex.get(type) as number)
  const acc: Acc[] = Array.from({ length: units.length * TYPES.length }, () => ({
    ballots: 0,
    undervotes: 0,
    overvotes: 0,
    votes: new Map(),
  }))
  const precinctOf = new Map(regions.map((r) => [r.id, cdfIds.precinct(r.id)]))
  const leaf = (regionId: string, channel: string) => {
    const p = precinctOf.get(regionId)
    if (!inContest.has(regionId) || p === undefined)
      throw new Error(`cdfResultsReport: contest ${c.rules.id} has counts of region ${regionId} outside it`)
    return acc[node(p, channelType(channel))] as Acc
  }
  for (const v of c.votes) {
    const a = leaf(v.regionId, v.channel)
    a.votes.set(v.selectionId, (a.votes.get(v.selectionId) ?? 0) + v.votes)
  }
  for (const b of c.ballots) {
    const a = leaf(b.regionId, b.channel)
    a.ballots += b.ballots
    a.undervotes += b.undervotes
    a.overvotes += b.overvotes
  }
  // Sums: each unit's total over its types, then each group and the jurisdiction over their children.
  const addInto = (to: Acc, from: Acc) => {
    to.ballots += from.ballots
    to.undervotes += from.undervotes
    to.overvotes += from.overvotes
    for (const [k, n] of from.votes) to.votes.set(k, (to.votes.get(k) ?? 0) + n)
  }
  const relations: Relation[] = []
  const byType = (unit: string) => TYPES.slice(0, -1).map((t) => node(unit, t as CdfCountType))
  for (const r of regions) {
    const p = cdfIds.precinct(r.id)
    for (const n of byType(p)) addInto(acc[node(p, 'total')] as Acc, acc[n] as Acc)
    relations.push({ total: node(p, 'total'), parts: byType(p) })
  }
  for (const parent of [...byGroup.keys(), topId]) {
    const kids = children.get(parent) ?? []
    for (const t of TYPES) {
      for (const k of kids) addInto(acc[node(parent, t)] as Acc, acc[node(k, t)] as Acc)
      relations.push({ total: node(parent, t), parts: kids.map((k) => node(k, t)) })
    }
    relations.push({ total: node(parent, 'total'), parts: byType(parent) })
  }

  // What the per-contest page (contest-results.ts) decides and publishes stays decided: its
  // regions' totals, its channels' totals and the contest's total. `suppressed` breaks ties
  // between cells of equal ballots in list order, so they are listed as the page lists them
  // (regions by state and name, channels by id): in any other order the two could hide
  // different ones of equal ballots and, read together, give a small cell back.
  const ballotsOf = (n: number) => (acc[n] as Acc).ballots
  const fixed = new Set<number>()
  const hidden = new Set<number>()
  const pageRegions = [...regions].sort(pageOrder).map((r): [string, number] => [r.id, ballotsOf(node(cdfIds.precinct(r.id), 'total'))])
  const hiddenRegions = hiddenRegionsOf(
    pageRegions.map(([id]) => id),
    c.ballots,
    min,
  )
  for (const [id] of pageRegions) {
    const n = node(cdfIds.precinct(id), 'total')
    fixed.add(n)
    if (hiddenRegions.has(id)) hidden.add(n)
  }
  const pageChannels = [...CHANNELS].sort().map((ch): [string, number] => [ch, ballotsOf(node(topId, CDF_COUNT_TYPE[ch]))])
  const hiddenChannels = suppressed(pageChannels, min)
  for (const [ch] of pageChannels) {
    const n = node(topId, CDF_COUNT_TYPE[ch as Channel])
    fixed.add(n)
    if (hiddenChannels.has(ch)) hidden.add(n)
  }
  const top = node(topId, 'total')
  fixed.add(top)
  if (isSmallCell(ballotsOf(top), min)) hidden.add(top)

  // The lines a reader follows: the selections' votes wherever a node is shown; undervotes
  // and overvotes only where they are published (OtherCounts at a unit's total, the page's
  // regions and channels).
  const lines = resultLines(c.rules).map(
    (s): CountLine => ({ values: Float64Array.from(acc, (a) => a.votes.get(s.id) ?? 0), everywhere: true }),
  )
  const published = (n: number) => n % TYPES.length === TYPES.length - 1 || fixed.has(n)
  lines.push(
    { values: Float64Array.from(acc, (a) => a.undervotes), everywhere: false },
    { values: Float64Array.from(acc, (a) => a.overvotes), everywhere: false },
  )
  const shown = protectCells({ size: acc.length, ballots: ballotsOf, relations, fixed, hidden, min, lines, published })
  return { units, node, acc, hidden: shown.hidden }
}

/** A sum the document shows: `total` = Σ `parts` (node indexes). */
export interface Relation {
  total: number
  parts: number[]
}

/**
 * Chooses the nodes to hide, in place in `hidden`: every free node (not in `fixed`) of
 * 1..min-1 ballots, and then, in every relation whose total is shown, more parts (the
 * smallest non-empty free ones, then empty ones; the total itself when no part is left) until what is hidden
 * in it is nothing, or two or more cells adding up to at least `min` ballots — one hidden
 * cell next to a shown total is given back by a subtraction, and two small ones give back
 * their sum. A relation whose total alone is hidden gets a hidden part too (the parts would
 * give the total back). Repeats until nothing changes; only adds.
 *
 * A hidden node that a relation gives back all the same (the only non-empty part of a
 * total that must stay shown) is returned in `derived`: it is known, so the caller may as
 * well show it, and the relations around it treat it as shown. That never happens to a
 * small cell (the property test checks).
 *
 * It checks each sum on its own: a cell that only a combination of several sums gives back
 * is not looked for (finding every such cell is a linear-programming audit).
 */
export function hideCells(t: {
  size: number
  ballots: (node: number) => number
  relations: Relation[]
  fixed: ReadonlySet<number>
  hidden: Set<number>
  min: number
}): { derived: Set<number> } {
  const { hidden, fixed, min } = t
  const derived = new Set<number>()
  for (let n = 0; n < t.size; n++) if (!fixed.has(n) && isSmallCell(t.ballots(n), min)) hidden.add(n)
  const relationsOf = new Map<number, Relation[]>()
  for (const r of t.relations)
    for (const n of [r.total, ...r.parts]) {
      const list = relationsOf.get(n)
      if (list) list.push(r)
      else relationsOf.set(n, [r])
    }
  const queue = [...t.relations]
  const queued = new Set(queue)
  const touch = (n: number) => {
    for (const r of relationsOf.get(n) ?? [])
      if (!queued.has(r)) {
        queued.add(r)
        queue.push(r)
      }
  }
  const hide = (n: number) => {
    hidden.add(n)
    touch(n)
  }
  const unknown = (n: number) => hidden.has(n) && !derived.has(n)
  while (queue.length > 0) {
    const r = queue.shift() as Relation
    queued.delete(r)
    const hiddenParts = r.parts.filter(unknown)
    // The smallest non-empty cells first, then empty ones: a hidden empty cell is as unknown to a reader as any.
    const spare = r.parts
      .filter((n) => !hidden.has(n) && !fixed.has(n))
      .sort((a, b) => (t.ballots(a) === 0 ? 1 : 0) - (t.ballots(b) === 0 ? 1 : 0) || t.ballots(a) - t.ballots(b))
    if (unknown(r.total)) {
      // Only the total hidden: the parts add up to it.
      if (hiddenParts.length > 0) continue
      if (spare[0] !== undefined) hide(spare[0])
      else {
        derived.add(r.total)
        touch(r.total)
      }
      continue
    }
    if (hiddenParts.length === 0) continue
    const sum = hiddenParts.reduce((s, n) => s + t.ballots(n), 0)
    if (hiddenParts.length >= 2 && sum >= min) continue
    if (spare[0] !== undefined) hide(spare[0])
    else if (!fixed.has(r.total) && !hidden.has(r.total)) hide(r.total)
    else if (hiddenParts.length === 1) {
      derived.add(hiddenParts[0] as number)
      touch(hiddenParts[0] as number)
    }
  }
  return { derived }
}

/** A count the audit follows over the nodes: one selection's votes, the undervotes or the overvotes. */
export interface CountLine {
  /** Its value per node. */
  values: ArrayLike<number>
  /** Published at every shown node (a selection's VoteCounts), or only at the shown nodes `published` names. */
  everywhere: boolean
}

/**
 * `hideCells`, then an audit of every count line, hiding more until none gives a small cell
 * back. `hideCells` chooses from ballots, but a line's counts are never negative: a shown 0
 * (a candidate with no mail votes anywhere) pins every hidden cell under it to 0 for that
 * line, and a sum next to it can then give a hidden cell's votes back — the three
 * election-day ballots of a precinct whose mail cell was hidden to protect them, when the
 * candidate's precinct total and early votes are shown. So for each line `deduce` works out
 * what a reader can, and where a small cell comes out known and not 0 a shown node it was
 * worked out from is hidden too (`blame`), until no line gives one back; then `hideCells`
 * protects the added nodes' ballots, and the audit runs again. Only adds, so it ends.
 *
 * A small cell that comes out 0 is left so: a 0 is known of every cell under a total (shown
 * or worked out) of 0, and hiding more would not change that — it is what publishing that 0
 * says (no voter there chose the line), not something to hide cell by cell.
 *
 * Returns the nodes to publish as hidden: `hidden` less the nodes `hideCells` finds given back
 * by a sum anyway (never a small cell).
 */
export function protectCells(t: {
  size: number
  ballots: (node: number) => number
  relations: Relation[]
  fixed: ReadonlySet<number>
  hidden: Set<number>
  min: number
  lines: CountLine[]
  /** Where a line that is not published everywhere is, when shown. */
  published: (node: number) => boolean
}): { hidden: Set<number> } {
  const graph = relationGraph(t.size, t.relations)
  const small = (n: number) => isSmallCell(t.ballots(n), t.min)
  const published = Uint8Array.from({ length: t.size }, (_, n) => (t.published(n) ? 1 : 0))
  /** What a reader is shown of a line (`everywhere` or not) when `shown` nodes are: kept in step by `hide`. */
  const view = (shown: Uint8Array) => {
    const onlyPublished = shown.map((x, n) => x & (published[n] as number))
    return {
      of: (line: CountLine) => (line.everywhere ? shown : onlyPublished),
      hide: (n: number) => {
        shown[n] = 0
        onlyPublished[n] = 0
      },
    }
  }
  // What the fixed nodes alone give back (the per-contest page's regions and channels, with
  // zeros) no hiding here can take back: left to the page (docs/secret-ballot.md).
  const onPage = view(Uint8Array.from({ length: t.size }, (_, n) => (t.fixed.has(n) && !t.hidden.has(n) ? 1 : 0)))
  const inherent = t.lines.map((line) => deduce(graph, line.values, onPage.of(line)).step)
  // A node already in `hidden` that hideCells shows all the same cannot be hidden by adding it again.
  const hideable = (n: number) => !t.fixed.has(n) && !t.hidden.has(n)
  /** The nodes to hide so that line `i` gives no small cell back (one per cell given back, maybe not enough). */
  const fixes = (i: number, seen: Uint8Array): number[] => {
    const line = t.lines[i] as CountLine
    const known = deduce(graph, line.values, seen)
    const out: number[] = []
    for (let n = 0; n < t.size; n++) {
      if (!((known.step[n] as number) > 0 && (line.values[n] as number) > 0 && small(n))) continue
      if (((inherent[i] as Int32Array)[n] as number) >= 0) continue
      const fix = blame(graph, known, line.values, n, hideable, t.ballots)
      if (fix !== undefined) out.push(fix)
    }
    return out
  }
  for (;;) {
    const { derived } = hideCells(t)
    const shownNodes = Uint8Array.from({ length: t.size }, (_, n) => (!t.hidden.has(n) || (derived.has(n) && !small(n)) ? 1 : 0))
    const shown = view(shownNodes)
    // Every line, then again only those that needed more hidden, until none does: hiding
    // only takes knowledge away, so a line found clean stays clean. The nodes added are left
    // alone in their other sums until hideCells protects their ballots, so a line's audit
    // goes on to the sums that would give them back, and picks their partners line-wise.
    let dirty = [...t.lines.keys()]
    let added = false
    while (dirty.length > 0) {
      const more = dirty.map((i) => fixes(i, shown.of(t.lines[i] as CountLine)))
      dirty = dirty.filter((_, k) => (more[k] as number[]).length > 0)
      for (const n of more.flat()) {
        t.hidden.add(n)
        shown.hide(n)
        added = true
      }
    }
    if (!added) return { hidden: new Set([...t.hidden].filter((n) => !shownNodes[n])) }
  }
}

/** The relations as flat arrays (the audit walks them once per line and round): each relation's total and parts, each node's relations. */
interface RelationGraph {
  totals: Int32Array
  partsStart: Int32Array
  parts: Int32Array
  relationsStart: Int32Array
  relations: Int32Array
}

function relationGraph(size: number, relations: Relation[]): RelationGraph {
  const totals = Int32Array.from(relations, (r) => r.total)
  const partsStart = new Int32Array(relations.length + 1)
  relations.forEach((r, i) => {
    partsStart[i + 1] = (partsStart[i] as number) + r.parts.length
  })
  const parts = Int32Array.from(relations.flatMap((r) => r.parts))
  const degree = new Int32Array(size + 1)
  for (const r of relations) for (const n of [r.total, ...r.parts]) degree[n + 1] = (degree[n + 1] as number) + 1
  for (let n = 0; n < size; n++) degree[n + 1] = (degree[n + 1] as number) + (degree[n] as number)
  const relationsStart = degree.slice()
  const fill = degree.slice(0, size)
  const byNode = new Int32Array(relationsStart[size] as number)
  relations.forEach((r, i) => {
    for (const n of [r.total, ...r.parts]) {
      byNode[fill[n] as number] = i
      fill[n] = (fill[n] as number) + 1
    }
  })
  return { totals, partsStart, parts, relationsStart, relations: byNode }
}

/** What `deduce` found: per node, the step it became known at (0: shown, -1: never) and the relation that gave it (-1: shown). */
interface Deduction {
  step: Int32Array
  by: Int32Array
}

/**
 * What a reader works out of one line from the shown nodes, counts never being negative,
 * over the relations until nothing changes: a known total whose known parts already add up
 * to it (a 0 above all) makes its other parts 0; a known total with one part unknown gives
 * that part; known parts give their total. Each relation keeps its unknown parts' number and
 * its known parts' sum, so this is linear in the relations' size.
 *
 * What it does not find: a value only a combination of several relations gives (a
 * linear-programming audit would), and bounds (a cell known to be at least 1).
 */
function deduce(g: RelationGraph, values: ArrayLike<number>, shown: Uint8Array): Deduction {
  const { totals, partsStart, parts, relationsStart, relations } = g
  const size = relationsStart.length - 1
  const step = new Int32Array(size).fill(-1)
  const by = new Int32Array(size).fill(-1)
  const unknownParts = new Int32Array(totals.length)
  for (let r = 0; r < totals.length; r++) unknownParts[r] = (partsStart[r + 1] as number) - (partsStart[r] as number)
  const knownSum = new Float64Array(totals.length)
  const queue: number[] = []
  const queued = new Uint8Array(totals.length)
  const learn = (n: number, relation: number, at: number) => {
    step[n] = at
    by[n] = relation
    const v = values[n] as number
    for (let i = relationsStart[n] as number, end = relationsStart[n + 1] as number; i < end; i++) {
      const r = relations[i] as number
      if (totals[r] !== n) {
        unknownParts[r] = (unknownParts[r] as number) - 1
        knownSum[r] = (knownSum[r] as number) + v
      }
      if (!queued[r]) {
        queued[r] = 1
        queue.push(r)
      }
    }
  }
  for (let n = 0; n < size; n++) if (shown[n]) learn(n, -1, 0)
  let at = 0
  for (let head = 0; head < queue.length; head++) {
    const r = queue[head] as number
    queued[r] = 0
    const total = totals[r] as number
    const unknown = unknownParts[r] as number
    if ((step[total] as number) < 0) {
      if (unknown === 0) learn(total, r, ++at)
    } else if (unknown === 1 || (unknown > 1 && values[total] === knownSum[r])) {
      // The parts learnt together share a step: none of them is worked out from another.
      at++
      for (let i = partsStart[r] as number, end = partsStart[r + 1] as number; i < end; i++) {
        const p = parts[i] as number
        if ((step[p] as number) < 0) learn(p, r, at)
      }
    }
  }
  return { step, by }
}

/**
 * The shown node to hide so that `node` is no longer worked out on this line: one it was
 * worked out from (in the relation that gave it, then in those that gave those, nearest
 * first) and that may be hidden. Preferred: one that, hidden, would not be worked out again
 * at once from another relation whose other members are known anyway (shown, or 0) —
 * hiding a cell that its precinct's total and shown cells give straight back gains nothing,
 * so up to `LOOK_FURTHER` more layers are searched for one that would stay unknown; then
 * one whose count is not 0 (a 0 is often pinned by a 0 above it); then the fewest ballots.
 * Hiding it may not be enough: the audit runs again.
 */
function blame(
  g: RelationGraph,
  known: Deduction,
  values: ArrayLike<number>,
  node: number,
  hideable: (n: number) => boolean,
  ballots: (n: number) => number,
): number | undefined {
  const steady = (m: number) => known.step[m] === 0 || ((known.step[m] as number) > 0 && values[m] === 0)
  const steadyCount = new Map<number, number>()
  const givenBackAtOnce = (x: number) => {
    for (let i = g.relationsStart[x] as number; i < (g.relationsStart[x + 1] as number); i++) {
      const r = g.relations[i] as number
      let n = steadyCount.get(r)
      if (n === undefined) {
        n = membersOf(g, r).filter(steady).length
        steadyCount.set(r, n)
      }
      if (n === (g.partsStart[r + 1] as number) - (g.partsStart[r] as number) + 1) return true
    }
    return false
  }
  const rank = (x: number) => [givenBackAtOnce(x) ? 1 : 0, (values[x] ?? 0) > 0 ? 0 : 1, ballots(x)]
  const seen = new Set([node])
  let layer = [node]
  let best: number | undefined
  for (let further = 0; layer.length > 0 && further <= LOOK_FURTHER; further += best === undefined ? 0 : 1) {
    const next: number[] = []
    const found: number[] = []
    for (const x of layer)
      for (const m of membersOf(g, known.by[x] as number)) {
        // Its causes: what was known before it (parts learnt with it are not).
        if (seen.has(m) || (known.step[m] as number) < 0 || (known.step[m] as number) >= (known.step[x] as number)) continue
        seen.add(m)
        if (known.step[m] !== 0) next.push(m)
        else if (hideable(m)) found.push(m)
      }
    const first = found.map((m) => ({ m, rank: rank(m) })).sort((a, b) => compareRanks(a.rank, b.rank))[0]
    if (first && first.rank[0] === 0) return first.m
    best ??= first?.m
    layer = next
  }
  return best
}

/** Layers searched past the first with a node to hide, for one that would stay unknown. */
const LOOK_FURTHER = 3

const membersOf = (g: RelationGraph, r: number): number[] => [
  g.totals[r] as number,
  ...g.parts.subarray(g.partsStart[r] as number, g.partsStart[r + 1] as number),
]

const compareRanks = (a: number[], b: number[]) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return 0
}

const text = (s: string): CdfText => ({
  '@type': 'ElectionResults.InternationalizedText',
  Text: [{ '@type': 'ElectionResults.LanguageString', Content: s, Language: 'en' }],
})

const external = (value: string): CdfExternalIdentifier => ({
  '@type': 'ElectionResults.ExternalIdentifier',
  Type: 'local-level',
  Value: value,
})

const reportingUnitType = (type: CdfReportingUnitType) => (type === 'other' ? { Type: 'other', OtherType: 'jurisdiction' } : { Type: type })

function districtType(level: (typeof DISTRICT_LEVELS)[number]): { Type: string; OtherType?: string } {
  switch (level) {
    case 'state':
    case 'congressional':
    case 'county':
    case 'city':
    case 'school':
    case 'special':
      return { Type: level }
    case 'legislative':
      return { Type: 'other', OtherType: 'legislative' }
    case 'other':
      return { Type: 'other', OtherType: 'district' }
  }
}

function initials(s: string): string {
  const letters = s
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase())
    .join('')
  return letters || 'VS'
}
