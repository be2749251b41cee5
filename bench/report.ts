import type { StepResult } from './load.ts'
import type { WaitShares } from './waits.ts'

export interface BenchReport {
  when: string
  machine: { cores: number; memoryGiB: number }
  quick: boolean
  ballot: 'one-contest' | 'realistic' | 'ranked'
  steps: Array<
    StepResult & { cpu: Record<string, number>; cpuSeconds: Record<string, number>; tallyPeakRssMiB?: number; waits?: WaitShares }
  >
  parts: {
    kafkaAlone: { rate: number; seconds: number }
    /** One-contest ballots: the machine's reference, the same in every run. */
    postgresAlone: PartAlone
    /** The run's own ballots (realistic, ranked) through the same transaction and the ballot box's mix. */
    postgresAloneBallot?: PartAlone
  }
  summary: { maxSustained: number; p99Under250At: number; slowerPart: string; ratioToSlowerPart: number; saturatesFirst: string }
}

interface PartAlone {
  rate: number
  seconds: number
  postgresUsPerBallot: number
}

const n = (x: number) => x.toLocaleString('en-US')

export function table(r: BenchReport): string {
  const cpuNames = Object.keys(r.steps[0]?.cpu ?? {})
  const head = [
    'offered/s',
    'achieved/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'max lag',
    'send errors',
    'exact',
    ...cpuNames.map((c) => `${c} cpu%`),
    ...cpuNames.map((c) => `${c} µs/ballot`),
    'total µs/ballot',
    'tally peak MiB',
  ]
  const rows = r.steps.map((s) => [
    n(s.offered),
    n(s.achieved),
    n(s.latency.p50),
    n(s.latency.p90),
    n(s.latency.p99),
    n(s.latency.p999),
    n(s.latency.max),
    n(s.maxLag),
    n(s.sendErrors),
    s.exact ? 'yes' : 'NO',
    ...cpuNames.map((c) => String(s.cpu[c] ?? '')),
    // CPU per ballot: the CPU time a process used while the step sent and counted, over the
    // ballots counted, in microseconds (the step's setup, loading its roll, is not metered).
    ...cpuNames.map((c) => (s.counted > 0 ? String(Math.round(((s.cpuSeconds[c] ?? 0) * 1e6) / s.counted)) : '')),
    // The whole pipeline, generator included: with C cores it cannot pass C / total per second.
    s.counted > 0 ? String(Math.round(pipelineUsPerBallot(s))) : '',
    String(s.tallyPeakRssMiB ?? ''),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)))
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `parts alone: Kafka produce+consume ${n(r.parts.kafkaAlone.rate)}/s, PostgreSQL ingest (the tally's transaction) ${n(r.parts.postgresAlone.rate)}/s, ${n(r.parts.postgresAlone.postgresUsPerBallot)} µs of PostgreSQL CPU per ballot`,
    ...(r.parts.postgresAloneBallot
      ? [
          `PostgreSQL alone with this run's ${r.ballot} ballots (the same transaction, and the ballot box's mix): ${n(r.parts.postgresAloneBallot.rate)}/s, ${n(r.parts.postgresAloneBallot.postgresUsPerBallot)} µs of PostgreSQL CPU per ballot`,
        ]
      : []),
    `max sustained ${n(r.summary.maxSustained)}/s = ${(100 * r.summary.ratioToSlowerPart).toFixed(0)}% of the slower part alone (${r.summary.slowerPart})`,
    `p99 <= 250 ms up to ${n(r.summary.p99Under250At)}/s offered; highest CPU at the top rate: ${r.summary.saturatesFirst}`,
    ...ceiling(r),
  ].join('\n')
}

/** Every metered process's CPU over the ballots a step counted, in microseconds. */
function pipelineUsPerBallot(step: BenchReport['steps'][number]): number {
  return (Object.values(step.cpuSeconds).reduce((a, b) => a + b, 0) * 1e6) / step.counted
}

/** The whole pipeline's CPU per ballot at the top rate, and the rate at which that cost fills the machine (it falls as the rate rises: fixed costs spread). */
function ceiling(r: BenchReport): string[] {
  const top = r.steps[r.steps.length - 1]
  if (!top || top.counted === 0) return []
  const us = pipelineUsPerBallot(top)
  return [
    `whole pipeline at ${n(top.offered)}/s offered: ${Math.round(us)} µs of CPU per ballot; at that cost ${r.machine.cores} cores are full at ${n(Math.round((r.machine.cores * 1e6) / us))}/s`,
  ]
}

/** A small SVG chart: latency percentiles (log scale) and achieved rate against offered rate. */
export function chart(r: BenchReport): string {
  const W = 760
  const H = 420
  const m = { l: 70, r: 90, t: 40, b: 50 }
  const xs = r.steps.map((s) => s.offered)
  const xMax = Math.max(...xs, 1)
  const x = (v: number) => m.l + (v / xMax) * (W - m.l - m.r)
  const hi = Math.log10(Math.max(10_000, ...r.steps.map((s) => s.latency.max)))
  const yLat = (ms: number) => H - m.b - (Math.log10(Math.max(1, ms)) / hi) * (H - m.t - m.b)
  const yRate = (v: number) => H - m.b - (v / xMax) * (H - m.t - m.b)
  const series = (values: number[], y: (v: number) => number, color: string, label: string, dash = '') =>
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${values.map((v, i) => `${x(xs[i] ?? 0)},${y(v)}`).join(' ')}"/>` +
    values.map((v, i) => `<circle cx="${x(xs[i] ?? 0)}" cy="${y(v)}" r="3" fill="${color}"/>`).join('') +
    `<text x="${x(xs[xs.length - 1] ?? 0) - 6}" y="${y(values[values.length - 1] ?? 0) - 6}" font-size="11" text-anchor="end" fill="${color}">${label}</text>`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${m.l}" y="22" font-size="15" font-weight="bold">VoteStream end to end: latency (log) and achieved rate by offered rate</text>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/>
<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>
<line x1="${m.l}" y1="${yLat(250)}" x2="${W - m.r}" y2="${yLat(250)}" stroke="#d1242f" stroke-dasharray="4 4"/>
<text x="${m.l + 4}" y="${yLat(250) - 4}" font-size="11" fill="#d1242f">250 ms</text>
${[1, 10, 100, 1000, 10000].map((v) => `<text x="${m.l - 8}" y="${yLat(v) + 4}" font-size="11" text-anchor="end">${n(v)} ms</text>`).join('\n')}
${xs.map((v) => `<text x="${x(v)}" y="${H - m.b + 16}" font-size="11" text-anchor="middle">${n(v)}</text>`).join('\n')}
<line x1="${W - m.r}" y1="${m.t}" x2="${W - m.r}" y2="${H - m.b}" stroke="#0969da"/>
${[0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${W - m.r + 6}" y="${yRate(f * xMax) + 4}" font-size="11" fill="#0969da">${n(Math.round(f * xMax))}/s</text>`).join('\n')}
<text x="${(W - m.r + m.l) / 2}" y="${H - 12}" font-size="12" text-anchor="middle">offered ballots/s — left axis: latency percentiles (log); right axis, dashed: achieved ballots/s</text>
${series(
  r.steps.map((s) => s.latency.p50),
  yLat,
  '#1a7f37',
  'p50',
)}
${series(
  r.steps.map((s) => s.latency.p99),
  yLat,
  '#9a6700',
  'p99',
)}
${series(
  r.steps.map((s) => s.latency.max),
  yLat,
  '#d1242f',
  'max',
)}
${series(
  r.steps.map((s) => s.achieved),
  yRate,
  '#0969da',
  'achieved/s',
  '6 3',
)}
</svg>
`
}
