import type { AdjudicationInput, CertificationCheck } from '../../domain/certification.ts'
import type { Db } from './sql.ts'

/**
 * Regions whose counted ballots exceed the voters on their roll or the registered voters
 * declared for them, and how many regions were checked. Counted from the raw ballots
 * (what certification certifies), not the running counts.
 */
export async function turnoutOverRoll(db: Db, electionId: string) {
  const over = await db<{ regionId: string; ballots: number; roll: number; declared: number }[]>`
    with cast_ballots as (select region_id, count(*) as n from ballots where election_id = ${electionId} group by 1),
    roll as (select region_id, count(*) as n from voters where election_id = ${electionId} group by 1)
    select r.id as region_id, coalesce(b.n, 0)::float8 as ballots, coalesce(v.n, 0)::float8 as roll, r.registered_voters::float8 as declared
    from regions r
    left join cast_ballots b on b.region_id = r.id
    left join roll v on v.region_id = r.id
    where r.election_id = ${electionId} and (coalesce(b.n, 0) > coalesce(v.n, 0) or coalesce(b.n, 0) > r.registered_voters)
    order by r.position`
  const [row] = await db<{ n: number }[]>`select count(*)::float8 as n from regions where election_id = ${electionId}`
  return { over, regionsChecked: row?.n ?? 0 }
}

/** Stores one run of the checklist. */
export async function recordCertificationCheck(db: Db, electionId: string, check: CertificationCheck): Promise<void> {
  await db`
    insert into certification_checks (election_id, checked_at, passed, items)
    values (${electionId}, ${check.checkedAt}, ${check.passed}, ${db.json(check.items.map((i) => ({ ...i })))})`
}

/** The latest run of the checklist for an election, or null before the first. */
export async function latestCertificationCheck(db: Db, electionId: string): Promise<CertificationCheck | null> {
  const [row] = await db<{ passed: boolean; checkedAt: Date; items: CertificationCheck['items'] }[]>`
    select passed, checked_at, items from certification_checks where election_id = ${electionId} order by id desc limit 1`
  return row ? { passed: row.passed, checkedAt: row.checkedAt.toISOString(), items: row.items } : null
}

/** The calls retracted while the election was counted (the election, its regions, its contests): evidence for the checklist. */
export async function retractedCalls(db: Db, electionId: string): Promise<Array<{ call: string; reason: string }>> {
  return db<Array<{ call: string; reason: string }>>`
    select case when region_id is null then 'the election' else 'region ' || region_id end || ': ' || candidate_id as call,
           coalesce(retraction_reason, '') as reason
    from race_calls where election_id = ${electionId} and retracted_at is not null
    union all
    select 'contest ' || contest_id || ': ' || coalesce(selection_id || ' elected', outcome), coalesce(retraction_reason, '')
    from contest_calls where election_id = ${electionId} and retracted_at is not null
    order by 1, 2`
}

/** Records a board's adjudication of a failing item (db/migrations/0051): added, never changed. */
export async function recordAdjudication(db: Db, electionId: string, a: AdjudicationInput): Promise<{ adjudicatedAt: string }> {
  const [row] = await db<{ adjudicatedAt: Date }[]>`
    insert into certification_adjudications (election_id, item, reason) values (${electionId}, ${a.item}, ${a.reason})
    returning adjudicated_at`
  return { adjudicatedAt: (row?.adjudicatedAt ?? new Date()).toISOString() }
}

/** An election's adjudications, oldest first: evidence for the checklist. */
export async function adjudications(db: Db, electionId: string): Promise<Array<AdjudicationInput & { adjudicatedAt: string }>> {
  const rows = await db<Array<AdjudicationInput & { adjudicatedAt: Date }>>`
    select item, reason, adjudicated_at from certification_adjudications where election_id = ${electionId} order by id`
  return rows.map((r) => ({ item: r.item, reason: r.reason, adjudicatedAt: r.adjudicatedAt.toISOString() }))
}
