import { CHANNELS, type Channel } from '../ballot.ts'
import {
  type BallotCell,
  DEFAULT_MIN_CELL_BALLOTS,
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
 * totals and each channel's totals with `suppressed()` applied; this document must not give
 * back what that page hides, and must not publish a finer cell (a precinct × vote type) of
 * 1..min-1 ballots. So the page's choices are kept as they are (a region or channel hidden
 * there is hidden here, one shown there is shown here), and the finer cells are hidden by
 * the same rule — a small cell, then the smallest others — applied to every sum the
 * document shows (a precinct's total over its vote types, a state's count per type over
 * its precincts, …) until, in every sum, either nothing is hidden or at least two cells
 * are hidden that add up to at least `min` ballots. A hidden count is published as
 * `Count: 0` with `IsSuppressedForPrivacy: true` (NIST requires `Count`); a unit whose
 * total is hidden has no `OtherCounts` for that contest (they carry no suppression flag).
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
  /** Every precinct of the election. */
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

  const contests = input.contests.map((c) => contestOf(c, regionById, topId, min, reported, lang))

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
  const table = countTable(c, regions, topId, min)
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
function countTable(c: CdfContestInput, regions: RegionInfo[], topId: string, min: number) {
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
  const index = new Map<string, number>()
  for (const u of units) for (const t of TYPES) index.set(`${u}\u0000${t}`, index.size)
  const node = (unit: string, type: CdfCountType) => index.get(`${unit}\u0000${type}`) as number
  const acc: Acc[] = [...index.keys()].map(() => ({ ballots: 0, undervotes: 0, overvotes: 0, votes: new Map() }))
  const leaf = (regionId: string, channel: string) => {
    if (!inContest.has(regionId)) throw new Error(`cdfResultsReport: contest ${c.rules.id} has counts of region ${regionId} outside it`)
    return acc[node(cdfIds.precinct(regionId), channelType(channel))] as Acc
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
  // regions' totals, its channels' totals and the contest's total.
  const ballotsOf = (n: number) => (acc[n] as Acc).ballots
  const fixed = new Set<number>()
  const hidden = new Set<number>()
  const pageRegions = regions.map((r): [string, number] => [r.id, ballotsOf(node(cdfIds.precinct(r.id), 'total'))])
  const hiddenRegions = suppressed(pageRegions, min)
  for (const [id] of pageRegions) {
    const n = node(cdfIds.precinct(id), 'total')
    fixed.add(n)
    if (hiddenRegions.has(id)) hidden.add(n)
  }
  const pageChannels = CHANNELS.map((ch): [string, number] => [ch, ballotsOf(node(topId, CDF_COUNT_TYPE[ch]))])
  const hiddenChannels = suppressed(pageChannels, min)
  for (const [ch] of pageChannels) {
    const n = node(topId, CDF_COUNT_TYPE[ch as Channel])
    fixed.add(n)
    if (hiddenChannels.has(ch)) hidden.add(n)
  }
  const top = node(topId, 'total')
  fixed.add(top)
  if (isSmallCell(ballotsOf(top), min)) hidden.add(top)

  const { derived } = hideCells({ size: acc.length, ballots: ballotsOf, relations, fixed, hidden, min })
  // What a sum gives back anyway is shown (never a small cell: then it stays hidden).
  for (const n of derived) if (!isSmallCell(ballotsOf(n), min)) hidden.delete(n)
  return { units, node, acc, hidden }
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
