import { bravoAudit, type ReportedContest, reportedWinners } from '../domain/audit/bravo.ts'
import { comparisonAudit } from '../domain/audit/comparison.ts'
import type { AuditResult, AuditRound, AuditStatusName } from '../domain/audit/report.ts'
import { fullCountAt, nextComparisonTarget, nextRoundTarget, type RoundPolicy } from '../domain/audit/rounds.ts'
import { drawSample } from '../domain/audit/sampler.ts'
import { contestTotals } from '../domain/contest-totals.ts'
import { AppError } from '../domain/errors.ts'
import { Simulation } from '../domain/simulation.ts'
import { imprintCoverage, readAuditCommitment } from '../lib/db/audit-files.ts'
import {
  type AuditBallotRow,
  countAuditPapers,
  finishAudit,
  readAudit,
  readAuditRounds,
  readComparedSample,
  recordAuditRound,
} from '../lib/db/audits.ts'
import { readContestTotalsInput } from '../lib/db/contest-totals.ts'
import { loadPlan } from '../lib/db/simulation.ts'
import { type Db, readSnapshot } from '../lib/db/sql.ts'
import { type AuditSource, auditSource } from '../lib/exports/audit-files.ts'
import {
  auditManifest,
  checkPapersAreTheCount,
  fullHandCount,
  interpretation,
  placeKey,
  recordsAtPlaces,
  simulatedPapers,
} from '../lib/exports/audit-papers.ts'
import type { ActivityDeps } from './deps.ts'
import { heartbeating } from './heartbeat.ts'

export interface AuditRoundInput extends RoundPolicy {
  auditId: string
  round: number
}

/** What the count reported for a contest: its winners, or passes/fails for a measure. */
const outcomeOf = (c: ReportedContest, votes = c.votes): string[] => {
  const w = reportedWinners(c.rules, votes)
  // A measure with no votes fails (it did not reach its threshold), as the results say.
  return c.rules.type === 'measure' ? [w.passes ? 'passes' : 'fails'] : [...w.winners].sort()
}

/**
 * The audit's reads and writes; its workflow (workflows/audit.ts) decides nothing the
 * activities can do faster (sampling thousands of tickets and testing thousands of papers
 * outlasts a workflow task) and keeps only the round loop. Each round reads the sample so
 * far from the database, draws the next tickets from the seed, retrieves their papers and
 * records them with the round's decision in one transaction: rounds cost what they draw.
 */
export function createAuditActivities({ sql }: ActivityDeps) {
  const inSnapshot = <T>(fn: (tx: Db) => Promise<T>) => readSnapshot<T>(sql, (tx) => fn(tx) as Promise<T>) as Promise<T>

  /** The audit, the election's source and the reported results of the audited contests. */
  const plan = async (db: Db, auditId: string) => {
    const audit = await readAudit(db, auditId)
    if (!audit) throw new AppError('not_found', `no audit ${auditId}`)
    const source = await auditSource(db, audit.electionId)
    if (!source) throw new AppError('conflict', `election ${audit.electionId} has no contests: nothing to audit`)
    const stored = await readAuditCommitment(db, audit.electionId)
    if (!stored || stored.commitment !== audit.commitment) {
      throw new AppError('conflict', `election ${audit.electionId}'s audit files are not the ones the audit was started against`)
    }
    const manifest = await auditManifest(db, source, stored)
    const N = manifest.reduce((n, b) => n + b.ballots, 0)
    if (N !== stored.ballots) throw new AppError('conflict', `the box holds ${N} ballots, the committed manifest ${stored.ballots}`)
    const totalsInput = await readContestTotalsInput(db, audit.electionId, 'counted')
    if (!totalsInput) throw new AppError('conflict', `election ${audit.electionId} has no contests`)
    const totals = new Map(contestTotals({ ...totalsInput, finished: true, calls: [], minCellBallots: 1 }).map((t) => [t.id, t]))
    const contests: ReportedContest[] = audit.contestIds.map((id) => {
      const rules = source.definition.contests.find((c) => c.id === id)
      if (!rules) throw new AppError('invalid_input', `election ${audit.electionId} has no contest ${id}`)
      return { rules, votes: totals.get(id)?.votes ?? {}, ballots: N }
    })
    return { audit, source, manifest, N, containerSize: stored.containerSize, contests }
  }

  const simulationOf = async (db: Db, source: AuditSource) => {
    if (!source.election.simulated) {
      throw new AppError(
        'conflict',
        `election ${source.election.id} was not simulated: its papers are read by hand, which the API does not take yet`,
      )
    }
    return new Simulation(await loadPlan(db, source.election.id))
  }

  /** Records a round with its draws (once: a second attempt keeps the first's) and returns what was recorded. */
  const record = async (input: AuditRoundInput, outcome: AuditRound, drawn: AuditBallotRow[]): Promise<AuditRound> => {
    await recordAuditRound(sql, input.auditId, outcome, drawn)
    const stored = (await readAuditRounds(sql, input.auditId)).find((r) => r.round === input.round)
    if (!stored) throw new Error(`round ${input.round} of audit ${input.auditId} was not recorded`)
    return stored
  }

  /**
   * A round of a ballot-comparison audit: the draws' places in the published records, the
   * record at each place (the box in id order), the paper with that record's imprint, and
   * Stark's super-simple test over every pair of record and paper drawn so far. A record
   * with no imprint, or an imprint no paper carries, counts as the worst discrepancy.
   */
  const comparisonRound = async (
    input: AuditRoundInput,
    p: Awaited<ReturnType<typeof plan>>,
    previous: { draws: number },
  ): Promise<AuditRound> => {
    const sim = await simulationOf(sql, p.source)
    if (input.round === 1) {
      await checkPapersAreTheCount(sql, sim, p.audit.electionId, p.N)
      const box = await imprintCoverage(sql, p.audit.electionId)
      if (box.imprinted < box.ballots || box.distinct < box.imprinted)
        throw new AppError('conflict', `election ${p.audit.electionId}: not every ballot carries an imprint of its own`)
    }
    const options = { fullCountAt: fullCountAt(p.N) }
    const compared = (rows: readonly AuditBallotRow[]) => rows.map((b) => ({ cvr: b.cvr ?? null, paper: b.paper }))
    const earlier = previous.draws > 0 ? await readComparedSample(sql, input.auditId, previous.draws) : []
    const before = earlier.length > 0 ? comparisonAudit(p.contests, p.audit.riskLimit, compared(earlier), options) : null
    const target = nextComparisonTarget(p.contests, p.audit.riskLimit, before, previous.draws, p.N, input)
    const manifest = p.manifest.map((b) => ({ id: b.name, ballots: b.ballots }))
    const draws = []
    for (let from = previous.draws + 1; from <= target; from += 5_000) {
      draws.push(...drawSample(p.audit.seed, manifest, Math.min(5_000, target - from + 1), from))
      await new Promise((r) => setImmediate(r))
    }
    const records = await recordsAtPlaces(sql, p.source, p.containerSize, new Set(draws.map((d) => placeKey(d.batchId, d.position))))
    const imprints = [...records.values()].flatMap((r) => (r.imprint ? [r.imprint] : []))
    const papers = sim.papersByImprint(imprints, p.N)
    const drawn: AuditBallotRow[] = draws.map((d) => {
      const cvr = records.get(placeKey(d.batchId, d.position))
      const k = cvr?.imprint ? papers.get(cvr.imprint) : undefined
      const paper = k === undefined ? null : sim.paper(k)
      return {
        draw: d.draw,
        round: input.round,
        ticket: d.ticket,
        batch: d.batchId,
        position: d.position,
        paper: paper ? interpretation(paper, p.audit.contestIds) : null,
        cvr: cvr ? interpretation(cvr.marks, p.audit.contestIds) : null,
      }
    })
    const results = comparisonAudit(p.contests, p.audit.riskLimit, compared([...earlier, ...drawn]), options)
    return record(
      input,
      {
        round: input.round,
        draws: target,
        contests: results.map((r) => ({
          contestId: r.contestId,
          status: r.status,
          reason: r.reason,
          pairs: r.pairs.map((x) => ({ winner: x.winner, loser: x.loser, pValue: x.pValue, discrepancies: x.counts })),
        })),
      },
      drawn,
    )
  }

  return {
    /**
     * One round: its size from the sample so far (each contest's size for a `quantile`
     * chance to stop, at least `growth` × the draws before, at most every ballot), the new
     * draws, their papers, the test over the whole sample, recorded. A round already
     * recorded (a retried attempt) is answered from the record.
     */
    async auditRound(input: AuditRoundInput): Promise<AuditRound> {
      return heartbeating(
        (async () => {
          const rounds = await readAuditRounds(sql, input.auditId)
          const recorded = rounds.find((r) => r.round === input.round)
          if (recorded) return recorded
          // The sample before this round is what the rounds before it recorded, and nothing
          // else: an attempt still running beside this one cannot change what it draws.
          const previous = input.round === 1 ? { draws: 0, contests: [] } : rounds.find((r) => r.round === input.round - 1)
          if (!previous) throw new AppError('conflict', `audit ${input.auditId} has no round ${input.round - 1} to follow`)
          const p = await inSnapshot((tx) => plan(tx, input.auditId))
          if (p.audit.method === 'ballot-comparison') return comparisonRound(input, p, previous)
          // The test over the whole sample needs only each pair's counts so far, which the
          // previous round recorded: a county's late rounds do not read back 100,000s of papers.
          const judge = (papers: readonly AuditBallotRow[]) =>
            bravoAudit(
              p.contests,
              p.audit.riskLimit,
              // A polling draw always has its paper (paperAt throws otherwise).
              papers.map((b) => b.paper ?? {}),
              { fullCountAt: fullCountAt(p.N), before: previous },
            )
          const before = previous.draws > 0 ? judge([]) : null
          const target = nextRoundTarget(p.contests, p.audit.riskLimit, before, previous.draws, p.N, input)
          const sim = await simulationOf(sql, p.source)
          // Once per audit: the papers are the generator's ballots 0..N−1 only if those are
          // exactly the ballots counted (a voter of a simulation can also cast through the API).
          if (input.round === 1) await checkPapersAreTheCount(sql, sim, p.audit.electionId, p.N)
          const papers = await simulatedPapers(sim, p.manifest)
          const batches = new Map(p.manifest.map((b) => [b.name, b]))
          const manifest = p.manifest.map((b) => ({ id: b.name, ballots: b.ballots }))
          const drawn: AuditBallotRow[] = []
          // A chunk at a time, yielding between chunks: the last rounds of a county's audit
          // draw hundreds of thousands of tickets, and the activity must go on heartbeating.
          for (let from = previous.draws + 1; from <= target; from += 5_000) {
            for (const d of drawSample(p.audit.seed, manifest, Math.min(5_000, target - from + 1), from)) {
              const batch = batches.get(d.batchId)
              if (!batch) throw new AppError('conflict', `the sampler drew from ${d.batchId}, which the manifest does not have`)
              drawn.push({
                draw: d.draw,
                round: input.round,
                ticket: d.ticket,
                batch: d.batchId,
                position: d.position,
                paper: interpretation(papers.paperAt(batch, d.position, p.containerSize), p.audit.contestIds),
              })
            }
            await new Promise((r) => setImmediate(r))
          }
          const results = judge(drawn)
          const outcome: AuditRound = {
            round: input.round,
            draws: target,
            contests: results.map((r) => ({
              contestId: r.contestId,
              status: r.status,
              reason: r.reason,
              pairs: r.pairs.map((x) => ({
                winner: x.winner,
                loser: x.loser,
                winnerBallots: x.winnerBallots,
                loserBallots: x.loserBallots,
                pValue: x.pValue,
              })),
            })),
          }
          return record(input, outcome, drawn)
        })(),
        `audit ${input.auditId}: round ${input.round}`,
        5_000,
      )
    },

    /**
     * Ends the audit: confirmed by the sample, or — when a contest needed it — every paper
     * counted by hand and its outcome compared with the reported one. Recorded once.
     */
    async concludeAudit(input: { auditId: string }): Promise<AuditResult> {
      return heartbeating(
        (async () => {
          const p = await inSnapshot((tx) => plan(tx, input.auditId))
          const rounds = await readAuditRounds(sql, input.auditId)
          const last = rounds[rounds.length - 1]
          if (!last) throw new AppError('conflict', `audit ${input.auditId} has no round to conclude from`)
          const open = last.contests.find((c) => c.status !== 'confirmed' && c.status !== 'full-hand-count-needed')
          if (open)
            throw new AppError('conflict', `audit ${input.auditId}: ${open.contestId} is still ${open.status} after round ${last.round}`)
          const needsCount = last.contests.some((c) => c.status === 'full-hand-count-needed')
          const hand = needsCount
            ? await fullHandCount(
                await simulationOf(sql, p.source),
                p.N,
                p.contests.map((c) => c.rules),
              )
            : null
          const contests = p.contests.map((c, i) => {
            const round = last.contests[i]
            const reported = outcomeOf(c)
            if (!hand) return { contestId: c.rules.id, reported, status: 'confirmed' as const, reason: round?.reason ?? '' }
            const votes = hand[c.rules.id] ?? {}
            const counted = outcomeOf(c, votes)
            const same = counted.join('\u0000') === reported.join('\u0000')
            return {
              contestId: c.rules.id,
              reported,
              status: same ? ('confirmed-by-full-count' as const) : ('outcome-differs' as const),
              reason: same
                ? 'a full hand count of the papers gives the reported outcome'
                : `a full hand count of the papers gives ${counted.join(', ')}, not the reported ${reported.join(', ')}`,
              handCount: { outcome: counted, votes },
            }
          })
          const status: AuditStatusName = contests.some((c) => c.status === 'outcome-differs')
            ? 'outcome-differs'
            : hand
              ? 'confirmed-by-full-count'
              : 'confirmed'
          const result: AuditResult = {
            status: status as AuditResult['status'],
            rounds: rounds.length,
            draws: last.draws,
            ballots: await countAuditPapers(sql, input.auditId),
            contests,
          }
          await finishAudit(sql, input.auditId, status, result)
          return result
        })(),
        `audit ${input.auditId}: concluding`,
        5_000,
      )
    },

    /** An audit that cannot go on (its files changed, its election has no papers) ends as failed, with the reason in the log. */
    async failAudit(input: { auditId: string }): Promise<void> {
      await finishAudit(sql, input.auditId, 'failed', null)
    },
  }
}
