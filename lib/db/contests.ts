import type { ContestRules, ResolvedDefinition } from '../../domain/contests.ts'
import { countLayout, type StyleLayouts } from '../../domain/count-vector.ts'
import { rcvRulesSchema } from '../../domain/rcv/rules.ts'
import type { Db } from './sql.ts'

/** The definition's district ids, names and levels as given (for listing; coverage lives in contest_regions). */
export interface DistrictRow {
  id: string
  name: string
  level: string
}

/**
 * Stores an election's definition, resolved against its regions: districts, contests and
 * their selections, the regions each contest covers, the ballot styles and each region's
 * style. Called once, in the transaction that creates the election.
 */
export async function saveDefinition(db: Db, electionId: string, districts: DistrictRow[], resolved: ResolvedDefinition): Promise<void> {
  await db`
    insert into districts (election_id, id, name, level, position)
    select ${electionId}, * from unnest(${districts.map((d) => d.id)}::text[], ${districts.map((d) => d.name)}::text[],
                                        ${districts.map((d) => d.level)}::text[], ${districts.map((_, i) => i)}::int[])`
  const cs = resolved.contests
  await db`
    insert into contests (election_id, id, position, name, kind, district_id, votes_allowed, number_elected, write_ins,
                          threshold_numerator, threshold_denominator, rcv)
    select ${electionId}, id, position, name, kind, district_id, votes_allowed, number_elected, write_ins,
           threshold_numerator, threshold_denominator, rcv::jsonb
    from unnest(
      ${cs.map((c) => c.id)}::text[], ${cs.map((c) => c.position)}::int[], ${cs.map((c) => c.name)}::text[],
      ${cs.map((c) => c.type)}::text[], ${cs.map((c) => c.district)}::text[], ${cs.map((c) => c.votesAllowed)}::int[],
      ${cs.map((c) => c.numberElected)}::int[], ${cs.map((c) => String(c.writeIns))}::text[]::bool[],
      ${cs.map((c) => c.threshold?.numerator ?? null)}::int[], ${cs.map((c) => c.threshold?.denominator ?? null)}::int[],
      ${cs.map((c) => (c.rcv ? JSON.stringify(c.rcv) : null))}::text[])
      as t(id, position, name, kind, district_id, votes_allowed, number_elected, write_ins, threshold_numerator, threshold_denominator, rcv)`
  const sel = cs.flatMap((c) => c.selections.map((s, position) => ({ c: c.id, position, ...s })))
  await db`
    insert into contest_selections (election_id, contest_id, id, position, name, party, write_in)
    select ${electionId}, * from unnest(${sel.map((s) => s.c)}::text[], ${sel.map((s) => s.id)}::text[], ${sel.map((s) => s.position)}::int[],
                                        ${sel.map((s) => s.name)}::text[], ${sel.map((s) => s.party)}::text[], ${sel.map((s) => String(s.writeIn))}::text[]::bool[])`
  const covered = [...resolved.regionsOfContest].flatMap(([c, rs]) => rs.map((r) => [c, r] as const))
  const CHUNK = 100_000
  for (let i = 0; i < covered.length; i += CHUNK) {
    const part = covered.slice(i, i + CHUNK)
    await db`
      insert into contest_regions (election_id, contest_id, region_id)
      select ${electionId}, * from unnest(${part.map(([c]) => c)}::text[], ${part.map(([, r]) => r)}::text[])`
  }
  const styles = [...resolved.styles]
  await db`
    insert into ballot_styles (election_id, id, contests)
    select ${electionId}, id, string_to_array(list, ',')
    from unnest(${styles.map(([id]) => id)}::text[], ${styles.map(([, list]) => list.join(','))}::text[]) as t(id, list)`
  const layout = [...countLayout(resolved)].flatMap(([style, at]) => [...at].map(([contest, start]) => [style, contest, start] as const))
  for (let i = 0; i < layout.length; i += CHUNK) {
    const part = layout.slice(i, i + CHUNK)
    await db`
      insert into style_contests (election_id, style_id, contest_id, at)
      select ${electionId}, * from unnest(${part.map(([s]) => s)}::text[], ${part.map(([, c]) => c)}::text[], ${part.map(([, , a]) => a)}::int[])`
  }
  const assigned = [...resolved.styleOfRegion]
  await db`
    update regions r set style_id = t.style
    from unnest(${assigned.map(([r]) => r)}::text[], ${assigned.map(([, s]) => s)}::text[]) as t(region, style)
    where r.election_id = ${electionId} and r.id = t.region`
}

/**
 * The resolved definitions of these elections, as stored. An election without contests
 * (a one-contest election of the first kind) maps to null; an unknown election is absent.
 */
export async function loadDefinitions(db: Db, electionIds: string[]): Promise<Map<string, ResolvedDefinition | null>> {
  const out = new Map<string, ResolvedDefinition | null>()
  if (electionIds.length === 0) return out
  const elections = await db<{ id: string }[]>`select id from elections where id = any(${electionIds}::text[])`
  for (const e of elections) out.set(e.id, null)
  const contests = await db<
    Array<{
      electionId: string
      id: string
      name: string
      kind: 'candidate' | 'measure'
      districtId: string
      position: number
      votesAllowed: number
      numberElected: number
      writeIns: boolean
      thresholdNumerator: number | null
      thresholdDenominator: number | null
      rcv: unknown
      selections: Array<{ id: string; name: string; party: string | null; writeIn: boolean }>
    }>
  >`
    select c.election_id, c.id, c.name, c.kind, c.district_id, c.position, c.votes_allowed, c.number_elected, c.write_ins,
           c.threshold_numerator, c.threshold_denominator, c.rcv,
           (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'party', s.party, 'writeIn', s.write_in)
                                      order by s.position), '[]')
            from contest_selections s where s.election_id = c.election_id and s.contest_id = c.id) as selections
    from contests c where c.election_id = any(${electionIds}::text[]) order by c.election_id, c.position`
  if (contests.length === 0) return out
  const styles = await db<{ electionId: string; id: string; contests: string[] }[]>`
    select election_id, id, contests from ballot_styles where election_id = any(${electionIds}::text[])`
  const regions = await db<{ electionId: string; id: string; styleId: string }[]>`
    select election_id, id, style_id from regions where election_id = any(${electionIds}::text[]) and style_id is not null`
  for (const id of new Set(contests.map((c) => c.electionId))) {
    const rules: ContestRules[] = contests
      .filter((c) => c.electionId === id)
      .map((c) => ({
        id: c.id,
        name: c.name,
        type: c.kind,
        district: c.districtId,
        position: c.position,
        votesAllowed: c.votesAllowed,
        numberElected: c.numberElected,
        writeIns: c.writeIns,
        selections: c.selections,
        threshold:
          c.thresholdNumerator !== null && c.thresholdDenominator !== null
            ? { numerator: c.thresholdNumerator, denominator: c.thresholdDenominator }
            : null,
        // Stored as validated; parsed again so a row changed by hand fails here, not in a round.
        rcv: c.rcv === null ? null : rcvRulesSchema.parse(c.rcv),
      }))
    const styleMap = new Map(styles.filter((s) => s.electionId === id).map((s) => [s.id, s.contests]))
    const styleOfRegion = new Map(regions.filter((r) => r.electionId === id).map((r) => [r.id, r.styleId]))
    const regionsOfContest = new Map<string, string[]>(rules.map((c) => [c.id, []]))
    for (const [region, style] of styleOfRegion) for (const c of styleMap.get(style) ?? []) regionsOfContest.get(c)?.push(region)
    out.set(id, { contests: rules, styles: styleMap, styleOfRegion, regionsOfContest })
  }
  return out
}

/** The stored count layout of these elections (see domain/count-vector.ts): election → style → contest → start. */
export async function loadCountLayouts(db: Db, electionIds: string[]): Promise<Map<string, StyleLayouts>> {
  const out = new Map<string, StyleLayouts>()
  if (electionIds.length === 0) return out
  const rows = await db<{ electionId: string; styleId: string; contestId: string; at: number }[]>`
    select election_id, style_id, contest_id, at from style_contests where election_id = any(${electionIds}::text[])`
  for (const r of rows) {
    let styles = out.get(r.electionId)
    if (!styles) {
      styles = new Map()
      out.set(r.electionId, styles)
    }
    let at = styles.get(r.styleId)
    if (!at) {
      at = new Map()
      styles.set(r.styleId, at)
    }
    at.set(r.contestId, r.at)
  }
  return out
}
