import { z } from 'zod'
import { ID_MAX_LENGTH, ID_PATTERN, ID_RULE } from './ballot.ts'
import { CONTEST_LIMITS } from './contest-limits.ts'
import { type RcvRules, rcvRulesSchema } from './rcv/rules.ts'
import { EXHAUSTED } from './rcv/tabulate.ts'

export { CONTEST_LIMITS }

/**
 * The election definition: what is on the ballot and where. Districts cover regions (the
 * whole election, some states, or a list of precincts); each contest belongs to one
 * district; a precinct's ballot style is the set of contests whose districts cover it.
 *
 * The definition is given once, when the election is created, and never changes: the
 * counter caches it, and every ballot counted is judged by the same rules.
 *
 * Limits (contest-limits.ts) are deliberate: a definition of thousands of contests is a
 * mistake or an attack, and gets a 400 naming the limit rather than a slow death in every
 * counting transaction.
 */

const id = z.string().min(1).max(ID_MAX_LENGTH).regex(ID_PATTERN, ID_RULE)
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')

/** The line for names written in by the voter (not declared in advance): one selection per contest. */
export const WRITE_IN_SELECTION = 'write-in'
/** The two selections of every ballot measure. */
export const MEASURE_SELECTIONS = ['yes', 'no'] as const

export const DISTRICT_LEVELS = ['state', 'congressional', 'legislative', 'county', 'city', 'school', 'special', 'other'] as const

export const districtSchema = z
  .strictObject({
    id,
    name: text(200),
    level: z.enum(DISTRICT_LEVELS).default('other'),
    /** The states (the regions' `state`) it covers entirely. */
    states: z.array(text(200)).min(1).max(100).optional(),
    /** The regions it covers. Neither: the whole election. */
    regions: z.array(id).min(1).max(100_000).optional(),
  })
  .refine((d) => !(d.states && d.regions), { message: 'give states or regions, not both', path: ['regions'] })

export const candidateSelectionSchema = z.strictObject({
  id: id.refine((s) => s !== WRITE_IN_SELECTION, `${WRITE_IN_SELECTION} is the undeclared write-in line`),
  name: text(200),
  party: text(100).optional(),
  /** A declared (qualified) write-in candidate: counted by name, listed apart. */
  writeIn: z.boolean().default(false),
})

/** A passage threshold as an exact fraction: 2/3 stays 2/3, not 0.6666…. */
const FRACTION = /^([1-9]\d{0,5})\/([1-9]\d{0,5})$/
export const thresholdSchema = z.union([z.number(), z.string().regex(FRACTION, 'a fraction such as 2/3')]).transform((t, ctx) => {
  const [num, den] =
    typeof t === 'number' ? decimalFraction(t) : ((t.match(FRACTION) ?? [t, 0, 1]).slice(1).map(Number) as [number, number])
  if (typeof t === 'number' && num / den !== t) {
    ctx.addIssue({ code: 'custom', message: 'at most six decimals; give a fraction such as "2/3" for a repeating one' })
    return z.NEVER
  }
  if (!(num > 0 && num <= den)) {
    ctx.addIssue({ code: 'custom', message: 'must lie in (0, 1]' })
    return z.NEVER
  }
  return { numerator: num, denominator: den }
})

const contestCommon = {
  id,
  name: text(200),
  district: id,
}

export const candidateContestSchema = z
  .strictObject({
    ...contestCommon,
    type: z.literal('candidate'),
    /** Vote for N. */
    votesAllowed: z.number().int().min(1).max(CONTEST_LIMITS.votesAllowed).default(1),
    /** Seats filled; at most votesAllowed (a "vote for 3" council elects 3). Default: votesAllowed. */
    numberElected: z.number().int().min(1).max(CONTEST_LIMITS.votesAllowed).optional(),
    candidates: z.array(candidateSelectionSchema).min(1).max(CONTEST_LIMITS.selectionsPerContest),
    /** Whether the ballot has write-in lines for names not declared. */
    writeIns: z.boolean().default(false),
    /**
     * Ranked choice (instant runoff): the voter ranks the candidates, and the count runs in
     * rounds (domain/rcv/). NIST's CDF calls it a candidate contest whose VoteVariation is
     * `rcv`; so it is here. One seat, one vote a rank, no write-in line.
     */
    rcv: rcvRulesSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.rcv) {
      if (c.votesAllowed !== 1)
        ctx.addIssue({ code: 'custom', path: ['votesAllowed'], message: 'a ranked-choice contest is vote for 1 (one candidate a rank)' })
      if (c.writeIns)
        ctx.addIssue({ code: 'custom', path: ['writeIns'], message: 'write-in lines in ranked-choice contests are not supported' })
      if (c.candidates.length < 2)
        ctx.addIssue({ code: 'custom', path: ['candidates'], message: 'a ranked-choice contest needs at least 2 candidates' })
      // The rounds name inactive ballots' destination so (RCTab's "exhausted"): no candidate may be called that.
      for (const [i, s] of c.candidates.entries())
        if (s.id === EXHAUSTED)
          ctx.addIssue({ code: 'custom', path: ['candidates', i, 'id'], message: `${EXHAUSTED} names inactive ballots in the rounds` })
    }
    const lines = c.candidates.length + (c.writeIns ? c.votesAllowed : 0)
    if (c.votesAllowed > lines)
      ctx.addIssue({
        code: 'custom',
        path: ['votesAllowed'],
        message: `vote for ${c.votesAllowed} with only ${lines} selection${lines === 1 ? '' : 's'}`,
      })
    if (c.numberElected !== undefined && c.numberElected > c.votesAllowed)
      ctx.addIssue({ code: 'custom', path: ['numberElected'], message: `more seats than votes allowed (${c.votesAllowed})` })
    duplicates(
      c.candidates.map((s) => s.id),
      ['candidates'],
      ctx,
    )
  })

export const measureContestSchema = z.strictObject({
  ...contestCommon,
  type: z.literal('measure'),
  text: text(4_000).optional(),
  /**
   * The share of the votes on the measure (yes + no) that yes needs. A simple majority (the
   * default, 1/2) must be exceeded: a tie fails. Any other threshold (55 %, 2/3) must be
   * reached.
   */
  threshold: thresholdSchema.default({ numerator: 1, denominator: 2 }),
})

export const contestSchema = z.discriminatedUnion('type', [candidateContestSchema, measureContestSchema])

export const electionDefinitionSchema = z
  .strictObject({
    districts: z.array(districtSchema).min(1).max(CONTEST_LIMITS.districts),
    contests: z.array(contestSchema).min(1).max(CONTEST_LIMITS.contests),
  })
  .superRefine((d, ctx) => {
    duplicates(
      d.districts.map((x) => x.id),
      ['districts'],
      ctx,
    )
    duplicates(
      d.contests.map((x) => x.id),
      ['contests'],
      ctx,
    )
    const districts = new Set(d.districts.map((x) => x.id))
    for (const [i, c] of d.contests.entries())
      if (!districts.has(c.district))
        ctx.addIssue({ code: 'custom', path: ['contests', i, 'district'], message: `no district ${c.district}` })
  })

export type ElectionDefinitionInput = z.input<typeof electionDefinitionSchema>
export type District = z.output<typeof districtSchema>
export type Contest = z.output<typeof contestSchema>
export type CandidateContest = z.output<typeof candidateContestSchema>
export type MeasureContest = z.output<typeof measureContestSchema>

/** A contest as the counter uses it: its rules resolved and its selections listed. */
export interface ContestRules {
  id: string
  name: string
  type: 'candidate' | 'measure'
  district: string
  position: number
  votesAllowed: number
  numberElected: number
  writeIns: boolean
  /** Declared selections, in ballot order (for a measure: yes, no). */
  selections: Array<{ id: string; name: string; party: string | null; writeIn: boolean }>
  threshold: { numerator: number; denominator: number } | null
  /** The ranked-choice rules of a ranked contest (its marks are rankings); absent or null for any other. */
  rcv?: RcvRules | null
}

/** The definition with its districts resolved to regions and each region's style. */
export interface ResolvedDefinition {
  contests: ContestRules[]
  /** Style id → the contests on it, in ballot order. */
  styles: Map<string, string[]>
  /** Region id → its style id. */
  styleOfRegion: Map<string, string>
  /** Contest id → the regions it covers. */
  regionsOfContest: Map<string, string[]>
}

export interface RegionPlace {
  id: string
  state: string
}

export type DefinitionIssue = { path: Array<string | number>; message: string }

/**
 * Resolves districts against the election's regions and derives the ballot styles. Returns
 * the issues instead when the definition does not fit the map: a district naming an unknown
 * state or region, a contest covering no region, a region whose style would hold no contest.
 */
export function resolveDefinition(
  definition: z.output<typeof electionDefinitionSchema>,
  regions: RegionPlace[],
): { ok: true; resolved: ResolvedDefinition } | { ok: false; issues: DefinitionIssue[] } {
  const issues: DefinitionIssue[] = []
  const regionIds = new Set(regions.map((r) => r.id))
  const byState = new Map<string, string[]>()
  for (const r of regions) {
    const list = byState.get(r.state)
    if (list) list.push(r.id)
    else byState.set(r.state, [r.id])
  }

  const covered = new Map<string, string[]>()
  for (const [i, d] of definition.districts.entries()) {
    if (d.states) {
      const out: string[] = []
      for (const [j, s] of d.states.entries()) {
        const rs = byState.get(s)
        if (!rs) issues.push({ path: ['districts', i, 'states', j], message: `no region lies in state ${s}` })
        else out.push(...rs)
      }
      covered.set(d.id, [...new Set(out)])
    } else if (d.regions) {
      for (const [j, r] of d.regions.entries())
        if (!regionIds.has(r)) issues.push({ path: ['districts', i, 'regions', j], message: `no region ${r}` })
      covered.set(
        d.id,
        [...new Set(d.regions)].filter((r) => regionIds.has(r)),
      )
    } else
      covered.set(
        d.id,
        regions.map((r) => r.id),
      )
  }

  const contests = definition.contests.map((c, position) => rulesOf(c, position))
  const regionsOfContest = new Map<string, string[]>()
  const contestsOfRegion = new Map<string, string[]>(regions.map((r) => [r.id, []]))
  for (const [i, c] of contests.entries()) {
    const rs = covered.get(c.district) ?? []
    if (rs.length === 0) issues.push({ path: ['contests', i, 'district'], message: `district ${c.district} covers no region` })
    regionsOfContest.set(c.id, rs)
    for (const r of rs) contestsOfRegion.get(r)?.push(c.id)
  }

  const styles = new Map<string, string[]>()
  const styleByKey = new Map<string, string>()
  const styleOfRegion = new Map<string, string>()
  for (const [i, r] of regions.entries()) {
    const list = contestsOfRegion.get(r.id) ?? []
    if (list.length === 0) {
      issues.push({ path: ['regions', i], message: `region ${r.id} lies in no contest's district: its ballot would be empty` })
      continue
    }
    const key = list.join('\u0000')
    let style = styleByKey.get(key)
    if (!style) {
      style = `style-${styles.size + 1}`
      styleByKey.set(key, style)
      styles.set(style, list)
    }
    styleOfRegion.set(r.id, style)
  }
  if (issues.length > 0) return { ok: false, issues: issues.slice(0, 20) }
  return { ok: true, resolved: { contests, styles, styleOfRegion, regionsOfContest } }
}

function rulesOf(c: Contest, position: number): ContestRules {
  if (c.type === 'measure')
    return {
      id: c.id,
      name: c.name,
      type: 'measure',
      district: c.district,
      position,
      votesAllowed: 1,
      numberElected: 1,
      writeIns: false,
      selections: MEASURE_SELECTIONS.map((s) => ({ id: s, name: s === 'yes' ? 'Yes' : 'No', party: null, writeIn: false })),
      threshold: c.threshold,
      rcv: null,
    }
  return {
    id: c.id,
    name: c.name,
    type: 'candidate',
    district: c.district,
    position,
    votesAllowed: c.votesAllowed,
    numberElected: c.numberElected ?? c.votesAllowed,
    writeIns: c.writeIns,
    selections: c.candidates.map((s) => ({ id: s.id, name: s.name, party: s.party ?? null, writeIn: s.writeIn })),
    threshold: null,
    rcv: c.rcv ?? null,
  }
}

/** The selection ids a count row of this contest may carry: the declared ones and the write-in line. */
export function countedSelectionIds(c: ContestRules): string[] {
  return [...c.selections.map((s) => s.id), ...(c.writeIns ? [WRITE_IN_SELECTION] : [])]
}

/** Whether yes passes: exceeds a simple majority, or reaches any other threshold. Exact integer arithmetic. */
export function measurePasses(threshold: { numerator: number; denominator: number }, yes: number, no: number): boolean {
  const total = yes + no
  if (total === 0) return false
  const lhs = yes * threshold.denominator
  const rhs = total * threshold.numerator
  return isSimpleMajority(threshold) ? lhs > rhs : lhs >= rhs
}

export const isSimpleMajority = (t: { numerator: number; denominator: number }) => t.numerator * 2 === t.denominator

/** 0.55 → 11/20; at most six decimals (a threshold is a law's number, not a measurement). */
function decimalFraction(x: number): [number, number] {
  if (!Number.isFinite(x)) return [0, 1]
  const den = 1_000_000
  const num = Math.round(x * den)
  const g = gcd(num, den)
  return [num / g, den / g]
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a)
  let y = Math.abs(b)
  while (y) [x, y] = [y, x % y]
  return x || 1
}

function duplicates(ids: string[], path: Array<string | number>, ctx: z.RefinementCtx) {
  const seen = new Set<string>()
  for (const [i, v] of ids.entries()) {
    if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [...path, i, 'id'], message: `${v} appears twice` })
    seen.add(v)
  }
}

/**
 * For an election with contests, the one-contest running counts (`tally_counts`) hold no
 * choice: one row per region × channel × partition under this key counts the ballots, so
 * turnout, totals and the ledger read the same table for every election. It breaks the id
 * rule on purpose: no candidate can be called so.
 */
export const BALLOTS_KEY = ':ballots'
