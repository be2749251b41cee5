import type { ElectionStatus } from '../../domain/election.ts'
import type { CallDecision, RaceCall } from '../../domain/results.ts'
import type { Db } from './sql.ts'

/** What the race-call rule needs to know about an election, read in one statement. */
export interface RaceFacts {
  status: ElectionStatus
  simulated: boolean
  /** Votes per candidate and region (regions with no votes yet are absent). */
  votes: Array<{ regionId: string; candidateId: string; votes: number }>
  candidates: string[]
  regions: string[]
  /** Planned ballots per region of a simulated election (empty for a live one). */
  planned: Map<string, number>
  /**
   * Messages in the log below the close marks that the tally has not accounted for yet,
   * of any election (null before the polls close).
   */
  backlog: number | null
}

export async function raceFacts(db: Db, electionId: string, tallyGroupId: string, topic: string): Promise<RaceFacts> {
  const [row] = await db<
    {
      status: ElectionStatus
      simulated: boolean
      votes: Array<{ regionId: string; candidateId: string; votes: number }> | null
      candidates: string[]
      regions: string[]
      planned: Record<string, number> | null
      backlog: string | null
    }[]
  >`
    select e.status, e.simulated,
      (select json_agg(json_build_object('regionId', region_id, 'candidateId', candidate_id, 'votes', n))
         from (select region_id, candidate_id, sum(votes)::int8 as n from tally_counts where election_id = e.id group by 1, 2) t) as votes,
      array(select id from candidates where election_id = e.id order by position) as candidates,
      array(select id from regions where election_id = e.id order by position) as regions,
      (select json_object_agg(region_id, ballots) from planned_ballots where election_id = e.id) as planned,
      (select sum(greatest(0, m.high_offset - coalesce(o.next_offset, 0)))::text
         from poll_close_marks m
         left join consumer_offsets o on o.group_id = ${tallyGroupId} and o.topic = m.topic and o.partition = m.kafka_partition
         where m.election_id = e.id and m.topic = ${topic}) as backlog
    from elections e where e.id = ${electionId}`
  if (!row) throw new Error(`no election ${electionId}`)
  return {
    status: row.status,
    simulated: row.simulated,
    votes: (row.votes ?? []).map((v) => ({ ...v, votes: Number(v.votes) })),
    candidates: row.candidates,
    regions: row.regions,
    planned: new Map(Object.entries(row.planned ?? {}).map(([k, v]) => [k, Number(v)])),
    backlog: row.backlog === null ? null : Number(row.backlog),
  }
}

interface CallRow {
  id: string
  regionId: string | null
  candidateId: string
  rule: string
  figures: RaceCall['figures']
  calledAt: Date
  retractedAt: Date | null
  retractionReason: string | null
}

/** The latest call of each scope (the election, each region), standing or retracted. */
export async function latestCalls(db: Db, electionId: string): Promise<Array<RaceCall & { id: string }>> {
  const rows = await db<CallRow[]>`
    select distinct on (coalesce(region_id, '')) id::text, region_id, candidate_id, rule, figures, called_at, retracted_at, retraction_reason
    from race_calls where election_id = ${electionId}
    order by coalesce(region_id, ''), race_calls.id desc -- the bigint, not the text column of the same name`
  return rows.map((r) => ({
    id: r.id,
    regionId: r.regionId,
    candidateId: r.candidateId,
    rule: r.rule,
    figures: r.figures,
    calledAt: r.calledAt.toISOString(),
    status: r.retractedAt ? 'retracted' : 'standing',
    retraction: r.retractedAt ? { at: r.retractedAt.toISOString(), reason: r.retractionReason ?? '' } : null,
  }))
}

export async function recordCall(tx: Db, electionId: string, regionId: string | null, call: CallDecision, version: string) {
  await tx`
    insert into race_calls (election_id, region_id, candidate_id, rule, figures, version)
    values (${electionId}, ${regionId}, ${call.candidateId}, ${call.rule}, ${tx.json(call.figures)}, ${version}::bigint)`
}

export async function retractCall(tx: Db, callId: string, reason: string, version: string) {
  await tx`
    update race_calls set retracted_at = now(), retraction_reason = ${reason}, retracted_version = ${version}::bigint
    where id = ${callId}::bigint and retracted_at is null`
}

/** Stores a simulated election's planned ballots per region (once; a retry changes nothing). */
export async function storePlannedBallots(db: Db, electionId: string, planned: Map<string, number>) {
  const regions = [...planned.keys()]
  await db`
    insert into planned_ballots (election_id, region_id, ballots)
    select ${electionId}, * from unnest(${regions}::text[], ${regions.map((r) => planned.get(r) ?? 0)}::bigint[])
    on conflict do nothing`
}

/** Race calls by status across all elections: for the metric that makes a retraction loud. */
export async function countCalls(db: Db): Promise<{ standing: number; retracted: number }> {
  const [row] = await db<{ standing: number; retracted: number }[]>`
    select count(*) filter (where retracted_at is null)::float8 as standing,
           count(*) filter (where retracted_at is not null)::float8 as retracted
    from race_calls`
  return row ?? { standing: 0, retracted: 0 }
}
