import type { RejectionReason } from '../../domain/ballot.ts'
import { publicContestCall } from '../../domain/contest-calls.ts'
import { contestTotals } from '../../domain/contest-totals.ts'
import { BALLOTS_KEY } from '../../domain/contests.ts'
import { reportingStatus } from '../../domain/election.ts'
import { AppError } from '../../domain/errors.ts'
import { leaderOf, REGIONS_INLINE, type ResultsSnapshot } from '../../domain/results.ts'
import { latestContestCalls } from './contest-calls.ts'
import { readContestTotalsInput } from './contest-totals.ts'
import { getElection } from './elections.ts'
import { latestCalls } from './race-calls.ts'
import { type Db, readSnapshot, type Sql } from './sql.ts'

/**
 * Reads an election's results from the running counts (summed over partitions). Every
 * statement runs in one read-only, repeatable-read transaction: one database snapshot,
 * so the version, totals, candidates, regions, contests and calls agree with each other.
 * Reads never write: race calls are decided elsewhere (activities/race-calls.ts).
 * Contests with fewer ballots than the election's smallest public cell are suppressed.
 */
export async function loadResults(sql: Sql, electionId: string, options: { since?: number } = {}): Promise<ResultsSnapshot> {
  return readSnapshot(sql, (tx) => readResults(tx, electionId, options))
}

async function readResults(
  db: Db,
  electionId: string,
  options: { since?: number },
  shape: { allRegions?: boolean; contests?: boolean } = {},
): Promise<ResultsSnapshot> {
  const election = await getElection(db, electionId)
  const candidateRows = await db<{ id: string; name: string; party: string | null }[]>`
    select id, name, party from candidates where election_id = ${electionId} order by position`
  const regionRows = await db<
    { id: string; name: string; state: string; registeredVoters: number; lat: number | null; lon: number | null; planned: number | null }[]
  >`
    select r.id, r.name, r.state, r.registered_voters, r.lat, r.lon, p.ballots::float8 as planned
    from regions r left join planned_ballots p on p.election_id = r.election_id and p.region_id = r.id
    where r.election_id = ${electionId} order by r.state, r.name`
  // Summed in the database (and, apart, per channel): with 5,000 regions the rows per
  // channel and partition were 556,765, and moving them to the process took most of a
  // second per snapshot. Past REGIONS_INLINE the regions are not listed, so the sums are
  // per state, and each state stands in for its regions in the roll-up.
  const listRegions = regionRows.length <= REGIONS_INLINE || shape.allRegions === true
  const cells = listRegions
    ? await db<Cell[]>`
        select region_id, candidate_id, sum(votes)::float8 as votes
        from tally_counts where election_id = ${electionId} group by 1, 2`
    : await db<Cell[]>`
        select r.state as region_id, t.candidate_id, sum(t.votes)::float8 as votes
        from tally_counts t join regions r on r.election_id = t.election_id and r.id = t.region_id
        where t.election_id = ${electionId} group by 1, 2`
  const channelRows = await db<{ channel: string; votes: number }[]>`
    select channel, sum(votes)::float8 as votes from tally_counts where election_id = ${electionId} group by 1`
  const byCandidate = new Map<string, number>()
  for (const c of cells) byCandidate.set(c.candidateId, (byCandidate.get(c.candidateId) ?? 0) + c.votes)
  const candidates = candidateRows.map((c) => ({ ...c, votes: byCandidate.get(c.id) ?? 0 }))
  // Once counting finished, what is recorded later (junk naming the election, a late
  // re-send) stays in the ledger but changes no figure and takes no visible version.
  const beforeFreeze = election.countedVersion === null ? db`` : db`and version <= ${String(election.countedVersion)}::bigint`
  const rejections = await db<{ reason: RejectionReason; n: number }[]>`
    select reason, count(*)::float8 as n from rejected_ballots
    where election_id = ${electionId} ${beforeFreeze} group by reason`
  // Contest counts as the public sees them move only when the results publisher releases
  // them (lib/db/results-release.ts), under a version of the release's own
  // (results_releases, read by results_version()); once counting finished, the counts
  // themselves, written under the versions of tally_counts' BALLOTS_KEY rows.
  // The version: one rule, results_version() (db/migrations/0022), which the feeds poll.
  // The ballots to expect: one rule, the expected_ballots view (db/migrations/0020), which
  // Grafana's share counted reads too.
  const [extra] = await db<{ version: number; expected: number | null }[]>`
    select results_version(${electionId})::float8 as version,
           (select expected from expected_ballots where election_id = ${electionId}) as expected`
  const calls = await latestCalls(db, electionId)
  const contestInput = shape.contests === false ? null : await readContestTotalsInput(db, electionId, 'public')
  const contests = contestInput
    ? contestTotals({
        ...contestInput,
        calls: (await latestContestCalls(db, electionId)).map(({ id: _, ...call }) =>
          publicContestCall(call, election.countedVersion !== null),
        ),
        finished: election.countedVersion !== null,
        minCellBallots: election.minCellBallots,
      })
    : null
  // Every counted ballot is one vote of one row: a candidate's, or (an election with
  // contests) BALLOTS_KEY's, which no candidate has.
  const counted = cells.reduce((s, c) => s + c.votes, 0)
  const rejected = rejections.reduce((s, r) => s + r.n, 0)
  const registeredVoters = regionRows.reduce((s, r) => s + r.registeredVoters, 0)
  // Once polls close, what was produced less rejections and duplicates; before, for a
  // simulation, the planned turnout; otherwise every registered voter (expected_ballots).
  const expected = extra?.expected ?? 0
  const byScope = new Map(calls.map((c) => [c.regionId, c]))
  const callOf = (regionId: string | null) => {
    const { id: _, ...call } = byScope.get(regionId) ?? { id: null }
    return 'candidateId' in call ? call : null
  }

  const geo = rollUp(
    listRegions ? regionRows : statesAsRegions(regionRows),
    cells,
    candidates.map((c) => c.id),
    channelRows,
  )

  return {
    electionId,
    name: election.name,
    test: election.test,
    simulated: election.simulated,
    status: election.status,
    reportingStatus: reportingStatus(election.status),
    version: extra?.version ?? 0,
    asOf: new Date().toISOString(),
    candidates: candidates.map((c) => ({ ...c, share: counted > 0 ? c.votes / counted : 0 })),
    regions: listRegions ? geo.regions.map((r) => ({ ...r, call: callOf(r.id) })) : [],
    regionsListed: listRegions,
    regionCount: regionRows.length,
    regionsCalled: calls.filter((c) => c.regionId !== null && c.status === 'standing').length,
    states: geo.states,
    channels: geo.channels,
    totals: { counted, rejected, registeredVoters, expected, shareCounted: expected > 0 ? Math.min(1, counted / expected) : 0 },
    rejections: Object.fromEntries(rejections.map((r) => [r.reason, r.n])),
    call: callOf(null),
    contests,
    ...(options.since !== undefined ? { changedSince: await changedSince(db, electionId, options.since) } : {}),
  }
}

/**
 * The regions of an election with their leaders, a page at a time, optionally of one
 * state; read in one snapshot like the results.
 */
export async function loadRegions(sql: Sql, electionId: string, options: { state?: string; offset: number; limit: number }) {
  return readSnapshot(sql, async (db) => {
    const snapshot = await readResults(db, electionId, {}, { allRegions: true, contests: false })
    const matching = snapshot.regions.filter((r) => options.state === undefined || r.state === options.state)
    return {
      electionId,
      version: snapshot.version,
      total: matching.length,
      offset: options.offset,
      regions: matching.slice(options.offset, options.offset + options.limit),
    }
  })
}

/** One region: votes per candidate and per channel, its leader, turnout and call. */
export async function loadRegion(sql: Sql, electionId: string, regionId: string) {
  return readSnapshot(sql, async (db) => {
    const snapshot = await readResults(db, electionId, {}, { allRegions: true, contests: false })
    const region = snapshot.regions.find((r) => r.id === regionId)
    if (!region) throw new AppError('not_found', `no region ${regionId} in ${electionId}`)
    const cells = await db<{ candidateId: string; channel: string; votes: number }[]>`
      select candidate_id, channel, sum(votes)::float8 as votes from tally_counts
      where election_id = ${electionId} and region_id = ${regionId} group by 1, 2`
    const sum = (f: (c: (typeof cells)[number]) => boolean) => cells.filter(f).reduce((s, c) => s + c.votes, 0)
    return {
      electionId,
      version: snapshot.version,
      region,
      candidates: snapshot.candidates.map((c) => ({ id: c.id, name: c.name, votes: sum((x) => x.candidateId === c.id) })),
      channels: ['election_day', 'early', 'mail'].map((channel) => ({ channel, ballots: sum((x) => x.channel === channel) })),
    }
  })
}

type RegionRow = {
  id: string
  name: string
  state: string
  registeredVoters: number
  lat: number | null
  lon: number | null
  planned: number | null
  /** How many regions this row stands for (a state standing in for its regions). */
  members?: number
}
type Cell = { regionId: string; candidateId: string; votes: number }

/** One row per state, standing in for its regions: summed voters, expected ballots and count. */
function statesAsRegions(regionRows: RegionRow[]): RegionRow[] {
  const states = new Map<string, RegionRow & { members: number; planned: number }>()
  for (const r of regionRows) {
    const s = states.get(r.state) ?? {
      id: r.state,
      name: r.state,
      state: r.state,
      registeredVoters: 0,
      lat: null,
      lon: null,
      planned: 0,
      members: 0,
    }
    s.registeredVoters += r.registeredVoters
    s.planned += r.planned ?? r.registeredVoters
    s.members++
    states.set(r.state, s)
  }
  return [...states.values()]
}

/** Per region its leader, margin and share counted; rolled up by state; totals per channel. */
function rollUp(regionRows: RegionRow[], cells: Cell[], candidateIds: string[], channelRows: Array<{ channel: string; votes: number }>) {
  const byRegion = new Map<string, Map<string, number>>()
  const channels = new Map(channelRows.map((c) => [c.channel, c.votes]))
  for (const c of cells) {
    const votes = byRegion.get(c.regionId) ?? new Map<string, number>()
    votes.set(c.candidateId, (votes.get(c.candidateId) ?? 0) + c.votes)
    byRegion.set(c.regionId, votes)
  }
  const regions = regionRows.map((r) => {
    const votes = candidateIds.map((id) => ({ id, votes: byRegion.get(r.id)?.get(id) ?? 0 }))
    // All the region's rows: its candidates', or BALLOTS_KEY's for an election with contests.
    const ballots = [...(byRegion.get(r.id)?.values() ?? [])].reduce((s, n) => s + n, 0)
    const expected = r.planned ?? r.registeredVoters
    return {
      id: r.id,
      name: r.name,
      state: r.state,
      registeredVoters: r.registeredVoters,
      ballots,
      turnoutPercent: r.registeredVoters > 0 ? Math.round((10_000 * ballots) / r.registeredVoters) / 100 : 0,
      lat: r.lat,
      lon: r.lon,
      ...leaderOf(votes),
      expected,
      shareCounted: expected > 0 ? Math.min(1, ballots / expected) : 0,
      votes,
    }
  })
  const states = new Map<
    string,
    { state: string; regions: number; registeredVoters: number; ballots: number; expected: number; votes: Map<string, number> }
  >()
  const members = new Map(regionRows.map((r) => [r.id, r.members ?? 1]))
  for (const r of regions) {
    const s = states.get(r.state) ?? {
      state: r.state,
      regions: 0,
      registeredVoters: 0,
      ballots: 0,
      expected: 0,
      votes: new Map<string, number>(),
    }
    s.regions += members.get(r.id) ?? 1
    s.registeredVoters += r.registeredVoters
    s.ballots += r.ballots
    s.expected += r.expected
    for (const v of r.votes) s.votes.set(v.id, (s.votes.get(v.id) ?? 0) + v.votes)
    states.set(r.state, s)
  }
  return {
    regions: regions.map(({ votes: _, ...r }) => r),
    states: [...states.values()].map(({ votes, ...s }) => {
      const candidates = candidateIds.map((id) => ({ id, votes: votes.get(id) ?? 0 }))
      return { ...s, shareCounted: s.expected > 0 ? Math.min(1, s.ballots / s.expected) : 0, ...leaderOf(candidates), candidates }
    }),
    channels: ['election_day', 'early', 'mail'].map((channel) => ({ channel, ballots: channels.get(channel) ?? 0 })),
  }
}

/**
 * Which candidates and regions have new counts since a version a client already has. Read
 * beside a shared document built a moment earlier, it may also name changes newer than that
 * document: more than needed, never less.
 */
export async function changedSince(db: Db, electionId: string, since: number) {
  return (await changedSinceAt(db, electionId, since)).changes
}

/**
 * changedSince with the results version of the same snapshot: read from a standby, a caller
 * can tell whether it saw at least the version of the document it pairs the changes with
 * (behind several standbys, one read may meet a replica further behind than the other).
 */
export async function changedSinceAt(db: Db, electionId: string, since: number) {
  const read = async (tx: Db) => {
    const [at] = await tx<{ version: number | null }[]>`select results_version(${electionId})::float8 as version`
    // Counts that moved since, and what the public saw move without a count: a release of
    // contest counts (released_cells' version, db/migrations/0042) and, once counting finished after
    // `since`, every region of an election with contests (its public contest counts switched
    // from the released copy to the counts themselves then); and a region called or whose
    // call was retracted since.
    const rows = await tx<{ candidateId: string | null; regionId: string }[]>`
      select distinct candidate_id, region_id from tally_counts
      where election_id = ${electionId}
        and (version > ${since}
             or (candidate_id = ${BALLOTS_KEY}
                 and exists (select from elections e where e.id = ${electionId} and e.counted_version > ${since})))
      union
      select distinct null, region_id from released_cells where election_id = ${electionId} and version > ${since}
      union
      select distinct null, region_id from race_calls
      where election_id = ${electionId} and region_id is not null
        and greatest(version, coalesce(retracted_version, 0)) > ${since}`
    return {
      version: at?.version ?? 0,
      changes: {
        since,
        candidates: [...new Set(rows.flatMap((r) => (r.candidateId === null ? [] : [r.candidateId])))].sort(),
        regions: [...new Set(rows.map((r) => r.regionId))].sort(),
      },
    }
  }
  // One snapshot for both reads; inside a caller's transaction, its snapshot.
  return 'savepoint' in db ? read(db) : readSnapshot(db as Sql, read)
}

/** An entity tag for conditional requests: versions become visible in order, so the version is enough. */
export function resultsEtag(s: ResultsSnapshot): string {
  return `"${s.version}"`
}

/**
 * Ballots counted and rejected so far for an election, from the running totals the tally
 * keeps with its counts: one index lookup, however large the election.
 */
export async function runningCounts(db: Db, electionId: string): Promise<{ counted: number; rejected: number }> {
  const [row] = await db<{ counted: number; rejected: number }[]>`
    select coalesce(sum(counted), 0)::float8 as counted, coalesce(sum(rejected), 0)::float8 as rejected
    from election_totals where election_id = ${electionId}`
  return { counted: row?.counted ?? 0, rejected: row?.rejected ?? 0 }
}

/** Ballots counted (from the raw ballots) and rejected so far for an election: exact, and O(election). */
export async function recordedCounts(db: Db, electionId: string): Promise<{ counted: number; rejected: number }> {
  const [row] = await db<{ counted: number; rejected: number }[]>`
    select (select count(*) from ballots where election_id = ${electionId})::int as counted,
           (select count(*) from rejected_ballots where election_id = ${electionId})::int as rejected`
  return { counted: row?.counted ?? 0, rejected: row?.rejected ?? 0 }
}

/**
 * The current results version of an election, cheaply (null if there is no such
 * election): versions become visible in order, so an unchanged version is unchanged results.
 */
export async function resultsVersion(db: Db, electionId: string): Promise<string | null> {
  const [row] = await db<{ version: string | null }[]>`select results_version(${electionId})::text as version`
  return row?.version ?? null
}

/** Votes per candidate per minute of casting, and the reconciliation snapshots over time. */
export async function loadTrend(db: Db, electionId: string) {
  const minutes = await db<{ minute: Date; candidateId: string; votes: number }[]>`
    select minute, candidate_id, sum(votes)::float8 as votes from trend_buckets where election_id = ${electionId} group by 1, 2 order by 1, 2`
  const snapshots = await db<{ takenAt: Date; candidateId: string; votes: number }[]>`
    select taken_at, candidate_id, votes::float8 from trend_snapshots where election_id = ${electionId} order by 1, 2`
  return { minutes, snapshots }
}
