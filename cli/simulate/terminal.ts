import type { ResultsSnapshot, SimulationComparison } from '../../domain/results.ts'
import { type Headline, headlineLines } from './format.ts'

const tty = process.stdout.isTTY === true
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s)
const fmt = (n: number) => n.toLocaleString('en-US')
const pct = (x: number) => `${(100 * x).toFixed(1)}%`
/** The terminal's width, for lines that must not wrap (a wrapped line breaks the redraw in place). */
const columns = () => (tty && process.stdout.columns ? process.stdout.columns : 120)

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width)
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

export interface LiveView {
  snapshot?: ResultsSnapshot
  phase: string
  produced: number
  target: number
  rate: number
  paused: boolean
  /** An election with contests: the headline contests as last read, and how many contests the ballot has. */
  headlines?: { shown: Headline[]; total: number }
}

/**
 * Lines printed while the live block is on screen go above it: the block is redrawn in
 * place by moving the cursor up over it, which would erase them.
 */
let drawnLines = 0
export function printAboveLiveBlock(text: string) {
  if (tty && drawnLines > 0) {
    process.stdout.write(`\x1b[${drawnLines}F\x1b[J`)
    drawnLines = 0
  }
  process.stderr.write(`${text}\n`)
}

/** Redraws the progress block in place on a terminal; prints a line now and then elsewhere. */
export function createRenderer() {
  let lastPlain = 0
  let lastPlainHeadlines = 0
  return {
    draw(v: LiveView) {
      const s = v.snapshot
      const counted = s?.totals.counted ?? 0
      const out: string[] = []
      out.push(
        `${bold(v.phase.padEnd(9))} generated ${bar(v.target ? v.produced / v.target : 0, 24)} ${fmt(v.produced)}/${fmt(v.target)} ballots at ${fmt(v.rate)}/s${v.paused ? ' (paused)' : ''}`,
      )
      out.push(
        `counted   ${bar(s?.totals.shareCounted ?? 0, 24)} ${fmt(counted)} ballots (${pct(s?.totals.shareCounted ?? 0)}), ${fmt(s?.totals.rejected ?? 0)} rejected`,
      )
      const max = Math.max(1, ...(s?.candidates ?? []).map((c) => c.votes))
      for (const c of s?.candidates ?? []) {
        const called = s?.call?.status === 'standing' && s.call.candidateId === c.id ? ' ✔ called' : ''
        out.push(`  ${c.name.padEnd(18)} ${bar(c.votes / max, 30)} ${fmt(c.votes).padStart(9)} ${pct(c.share).padStart(6)}${called}`)
      }
      const headlines = v.headlines ? headlineLines(v.headlines.shown, v.headlines.total, columns() - 1) : []
      out.push(...headlines.map((l, i) => (i === 0 ? dim(l) : l)))
      if (s) out.push(...statesReporting(s), ...closestRegions(s))
      if (tty) {
        if (drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}F\x1b[J`)
        process.stdout.write(`${out.join('\n')}\n`)
        drawnLines = out.length
      } else if (Date.now() - lastPlain > 5000) {
        lastPlain = Date.now()
        process.stdout.write(`${out[0]}\n${out[1]}\n`)
        // The contests change more slowly than the counters: every third time is enough in a log.
        if (headlines.length > 0 && Date.now() - lastPlainHeadlines > 15_000) {
          lastPlainHeadlines = Date.now()
          process.stdout.write(`${headlines.join('\n')}\n`)
        }
      }
    },
  }
}

const nameOf = (s: ResultsSnapshot, id: string | null) => s.candidates.find((c) => c.id === id)?.name ?? '—'

/** States by share counted, with who leads each (at most six lines). */
function statesReporting(s: ResultsSnapshot): string[] {
  if (s.states.length === 0) return []
  const shown = [...s.states].sort((a, b) => b.shareCounted - a.shareCounted).slice(0, 6)
  return [
    dim('  states reporting'),
    ...shown.map(
      (st) =>
        // An election with contests has no candidates of its own: its leaders are per contest, above.
        `  ${st.state.padEnd(18)} ${bar(st.shareCounted, 12)} ${pct(st.shareCounted).padStart(6)}${s.candidates.length > 0 ? `  ${nameOf(s, st.leader)} by ${fmt(st.margin)}` : ''}`,
    ),
  ]
}

/** The regions with counted ballots where the lead is smallest (three lines). */
function closestRegions(s: ResultsSnapshot): string[] {
  if (s.candidates.length === 0) return []
  const close = s.regions
    .filter((r) => r.ballots > 0)
    .sort((a, b) => a.margin / a.ballots - b.margin / b.ballots)
    .slice(0, 3)
  if (close.length === 0) return []
  return [
    dim('  closest regions'),
    ...close.map((r) => `  ${r.name.padEnd(18)} ${r.leader ? `${nameOf(s, r.leader)} by ${fmt(r.margin)}` : 'tied'} of ${fmt(r.ballots)}`),
  ]
}

export function printCertified(
  s: ResultsSnapshot,
  extra: {
    verdict: string
    truth: Pick<SimulationComparison, 'matches' | 'cells' | 'contests'> | null
    urls: Record<string, string>
    /** An election with contests: its headline contests, read once it was certified. */
    headlines?: { shown: Headline[]; total: number }
    /** Printed beside the links: whether they still lead anywhere once this run ends. */
    linksNote: string[]
  },
) {
  // The live block stays on screen as the last picture; what follows goes below it.
  drawnLines = 0
  // Printed once, below everything: no redraw to protect, so no line is cut.
  const contests = extra.headlines ? headlineLines(extra.headlines.shown, extra.headlines.total, Number.POSITIVE_INFINITY) : []
  const lines = [
    '',
    bold(`${s.name}: ${s.reportingStatus.toUpperCase()} (version ${s.version})`),
    '',
    ...(s.candidates.length > 0 ? [`  ${'candidate'.padEnd(20)} ${'votes'.padStart(10)} ${'share'.padStart(7)}`] : []),
    ...[...s.candidates]
      .sort((a, b) => b.votes - a.votes)
      .map(
        (c) =>
          `  ${c.name.padEnd(20)} ${fmt(c.votes).padStart(10)} ${pct(c.share).padStart(7)}${s.call?.status === 'standing' && s.call.candidateId === c.id ? '  winner' : ''}`,
      ),
    ...contests,
    '',
    `  counted ${fmt(s.totals.counted)} of ${fmt(s.totals.registeredVoters)} registered voters (turnout ${pct(s.totals.registeredVoters ? s.totals.counted / s.totals.registeredVoters : 0)})`,
    `  rejected ${fmt(s.totals.rejected)}: ${
      Object.entries(s.rejections)
        .map(([k, n]) => `${k} ${fmt(n)}`)
        .join(', ') || 'none'
    }`,
    `  reconciliation: ${extra.verdict}`,
    extra.truth
      ? `  ground truth: ${
          extra.truth.matches
            ? `the count equals what the generator produced, in each of ${fmt(extra.truth.cells.compared)} candidate × region × channel cells`
            : `MISMATCH with the generator (${fmt(extra.truth.cells.mismatched)} of ${fmt(extra.truth.cells.compared)} cells differ)`
        }`
      : '',
    extra.truth?.contests
      ? `  contests: ${
          extra.truth.contests.mismatched === 0
            ? `equal to the generator in each of ${fmt(extra.truth.contests.compared)} contest × line × region × channel cells (selections, undervotes, overvotes, ballots)`
            : `MISMATCH in ${fmt(extra.truth.contests.mismatched)} of ${fmt(extra.truth.contests.compared)} contest cells`
        }`
      : '',
    s.call
      ? `  race call: ${s.call.status === 'standing' ? s.call.rule : `RETRACTED (${s.call.retraction?.reason})`}, ${fmt(s.regionsCalled)} of ${fmt(s.regionCount)} regions called`
      : '',
    '',
    ...Object.entries(extra.urls).map(([k, v]) => `  ${k.padEnd(16)} ${v}`),
    ...extra.linksNote.map((l) => `  ${l}`),
    '',
  ]
  process.stdout.write(`${lines.filter((l, i, a) => l !== '' || a[i - 1] !== '').join('\n')}\n`)
}

export { dim }
