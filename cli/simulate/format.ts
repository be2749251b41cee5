import type { z } from 'zod'
import { type ContestList, contestListSchema, contestResultsSchema } from '../../domain/contest-results.ts'
import { isSimpleMajority, measurePasses } from '../../domain/contests.ts'
import { headlineContests } from '../../domain/simulation-contests.ts'

/**
 * What `simulate` prints, as pure functions of what it read: the headline contests of a
 * long ballot, and what is left running after a run (and how to stop it). No colours and
 * no terminal here: terminal.ts decorates, the tests read exactly what a user reads.
 */

export { type ContestList, contestListSchema }

/** `GET /elections/{id}/contests/{contestId}`, the fields a headline shows (the breakdown by region is not needed). */
export const headlineSchema = contestResultsSchema.pick({
  contestId: true,
  name: true,
  type: true,
  votesAllowed: true,
  numberElected: true,
  threshold: true,
  totals: true,
  selections: true,
  outcome: true,
  minCellBallots: true,
})
export type Headline = z.infer<typeof headlineSchema>

/**
 * The contests to headline, by the simulator's own rule (`headlineContests`): the widest
 * single-seat race, the widest measure, the widest council, then ballot order. Widest is
 * read from the number of regions each contest's district covers, as the API lists them.
 */
export function pickHeadlines(
  list: Array<Pick<ContestList['contests'][number], 'id' | 'type' | 'district' | 'votesAllowed' | 'regions'>>,
  n = 4,
): string[] {
  const regions = new Map(list.map((c) => [c.district, c.regions]))
  return headlineContests(
    {
      districts: [...regions].map(([id, count]) => ({ id, regions: new Array<unknown>(count) })),
      contests: list.map((c) => ({ id: c.id, type: c.type, district: c.district, votesAllowed: c.votesAllowed })),
    },
    n,
  )
}

const fmt = (n: number) => n.toLocaleString('en-US')
const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** A line cut to `width` characters, with an ellipsis where it was cut. */
export function clip(line: string, width: number): string {
  const chars = [...line]
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`
}

/** "more than 50%", "55%", "2/3 (66.7%)": the threshold as the law states it. */
export function thresholdText(t: { numerator: number; denominator: number }): string {
  const percent = (100 * t.numerator) / t.denominator
  if (isSimpleMajority(t)) return 'more than 50%'
  // A percentage with at most two decimals is how such a law reads (55%, 57.5%); else the fraction.
  const exact = Math.abs(percent * 100 - Math.round(percent * 100)) < 1e-6
  return exact ? `${Number(percent.toFixed(2))}%` : `${t.numerator}/${t.denominator} (${percent.toFixed(1)}%)`
}

/**
 * Yes's share of the votes on a measure, rounded so that it never reads as on the other
 * side of the threshold from the outcome: 54.96 % of a 55 % measure that fails is "54.96%",
 * never "55.0%". One decimal when that is honest, more when it is not.
 */
export function yesShareText(yes: number, no: number, t: { numerator: number; denominator: number }): string {
  const total = yes + no
  if (total === 0) return '—'
  const passes = measurePasses(t, yes, no)
  const threshold = (100 * t.numerator) / t.denominator
  const moreThan = isSimpleMajority(t)
  const consistent = (shown: number) =>
    passes ? (moreThan ? shown > threshold : shown >= threshold) : moreThan ? shown <= threshold : shown < threshold
  for (const digits of [1, 2, 3]) {
    const text = ((100 * yes) / total).toFixed(digits)
    if (consistent(Number(text))) return `${text}%`
  }
  // Within a thousandth of a point of the threshold: round towards the outcome's side.
  const scaled = (yes * 100_000) / total
  return `${((passes ? Math.ceil(scaled) : Math.floor(scaled)) / 1000).toFixed(3)}%`
}

/** What one headline contest says, after its name. */
export function headlineText(c: Headline): string {
  if (c.totals.ballots > 0 && c.totals.ballots < c.minCellBallots) return `fewer than ${c.minCellBallots} ballots so far: not shown yet`
  return c.type === 'measure' ? measureText(c) : candidateText(c)
}

function measureText(c: Headline): string {
  const t = c.threshold ?? { numerator: 1, denominator: 2 }
  const yes = c.selections.find((s) => s.id === 'yes')?.votes ?? 0
  const no = c.selections.find((s) => s.id === 'no')?.votes ?? 0
  const needs = `needs ${thresholdText(t)}`
  if (yes + no === 0) return `no votes yet · ${needs}`
  const passes = measurePasses(t, yes, no)
  const verdict = c.outcome.decided ? (passes ? 'passes' : 'fails') : passes ? 'passing so far, undecided' : 'failing so far, undecided'
  return `yes ${yesShareText(yes, no, t)} · ${needs} · ${verdict}`
}

function candidateText(c: Headline): string {
  if (c.totals.votes === 0) return 'no votes yet'
  const ranked = [...c.selections].sort((a, b) => b.votes - a.votes)
  const seats = c.numberElected
  const name = (s: (typeof ranked)[number]) => `${s.name}${s.party ? ` (${s.party})` : ''}`
  const lastIn = ranked[seats - 1]
  const firstOut = ranked[seats]
  const tied = lastIn !== undefined && firstOut !== undefined && lastIn.votes === firstOut.votes
  if (seats === 1) {
    const [first, second] = ranked
    if (!first) return 'no votes yet'
    const verdict = tied ? `tied at ${fmt(first.votes)}` : c.outcome.decided ? 'wins' : 'leads, undecided'
    return `${name(first)} ${pct(first.share)}${second ? ` · ${second.name} ${pct(second.share)}` : ''} · ${verdict}`
  }
  const ahead = ranked.slice(0, seats)
  const verdict = tied ? `tied for seat ${seats}` : c.outcome.decided ? `win the ${seats} seats` : `lead for ${seats} seats, undecided`
  return `${ahead.map((s) => `${s.name} ${pct(s.share)}`).join(', ')} · ${verdict}`
}

/** The headline block: a title and one line per contest, each cut to `width`. */
export function headlineLines(headlines: Headline[], total: number, width: number): string[] {
  if (headlines.length === 0) return []
  const nameWidth = Math.min(30, Math.max(...headlines.map((c) => c.name.length)))
  return [
    clip(`  headline contests (${headlines.length} of ${fmt(total)} on the ballot)`, width),
    ...headlines.map((c) => clip(`  ${clip(c.name, nameWidth).padEnd(nameWidth)}  ${headlineText(c)}`, width)),
  ]
}

/** What a run leaves behind, as main.ts knows it. */
export interface RunLeftovers {
  /** The run used VOTESTREAM_API_URL: it started nothing. */
  external: boolean
  keep: boolean
  /** The processes this run started (api, tally, worker), none when they were already running. */
  services: Array<{ name: string; pid: number }>
  /** This run brought the local stack up (it was not running before). */
  stack: boolean
}

/**
 * The note printed beside the links at the end of a run: whether they still lead
 * anywhere, and with `--keep` what was left running and how to stop it.
 */
export function linksNote(r: RunLeftovers): string[] {
  if (r.external) return r.keep ? ['--keep: nothing to keep; this run used VOTESTREAM_API_URL and started no process'] : []
  const started = [...r.services.map((s) => s.name), ...(r.stack ? ['the local stack'] : [])]
  if (started.length === 0)
    return ['these links stay up: the stack and the services were running before this run, and it leaves them as they were']
  if (!r.keep)
    return [`these links stop working now: this run stops what it started (${list(started)}); run with --keep to leave it running`]
  const pids = r.services.map((s) => s.pid)
  const left = [...r.services.map((s) => `${s.name} (pid ${s.pid})`), ...(r.stack ? ['the local stack'] : [])]
  const stop =
    pids.length > 0 && r.stack
      ? `\`kill ${pids.join(' ')}\`, then once they have exited \`npx bun run stack down\``
      : pids.length > 0
        ? `\`kill ${pids.join(' ')}\``
        : '`npx bun run stack down`'
  return [
    `these links stay up (--keep): left running ${list(left)}; logs in .stack/logs/`,
    `to stop them: ${stop} (the next \`bun run simulate\` uses them as they are)`,
  ]
}

const list = (xs: string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`)
