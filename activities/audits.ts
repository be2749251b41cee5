import { bravoAudit, type ReportedContest, reportedWinners } from '../domain/audit/bravo.ts'
import { comparisonAudit } from '../domain/audit/comparison.ts'
import type { AuditResult, AuditRound, AuditStatusName, HandCount } from '../domain/audit/report.ts'
import { fullCountAt, nextComparisonTarget, nextRoundTarget, type RoundPolicy } from '../domain/audit/rounds.ts'
import { drawSample } from '../domain/audit/sampler.ts'
import { contestTotals } from '../domain/contest-totals.ts'
import { AppError } from '../domain/errors.ts'
import { Simulation } from '../domain/simulation.ts'
import { type BoxRow, imprintCoverage, readAuditCommitment } from '../lib/db/audit-files.ts'
import {
  type AuditBallotRow,
  countAuditPapers,
  countAwaitedPapers,
  finishAudit,
  readAudit,
  readAuditRounds,
  readComparedSample,
  readEnteredPapers,
  readRoundDraws,
  recordAuditRound,
  recordDraws,
} from '../lib/db/audits.ts'
import { readContestTotalsInput } from '../lib/db/contest-totals.ts'
import { loadPlan } from '../lib/db/simulation.ts'
import { type Db, readSnapshot } from '../lib/db/sql.ts'
import { type AuditSource, auditSource } from '../lib/exports/audit-files.ts'
import {
  auditManifest,
  checkPapersAreTheCount,
  checkRecordsAreTheReported,
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

/** A drawn ticket as the sample records it, before its paper is read. */
const drawOf = (d: { draw: number; ticket: number; batchId: string; position: number }, round: number) => ({
  draw: d.draw,
  round,
  ticket: d.ticket,
  batch: d.batchId,
  position: d.position,
})

/** The board's full hand count, for every audited contest (the API checked its lines when it took it). */
function boardHandCount(p: { audit: { id: string; handCount: HandCount | null }; contests: readonly ReportedContest[] }) {
  const entered = p.audit.handCount
  if (!entered) throw new AppError('conflict', `audit ${p.audit.id}: the board has not entered its full hand count`)
  for (const c of p.contests)
    if (!entered[c.rules.id]) throw new AppError('conflict', `audit ${p.audit.id}: the hand count has no ${c.rules.id}`)
  return entered
}

/** A contest's decision in a round, whichever test made it (its pairs are the test's own). */
const roundContest = (r: { contestId: string; status: AuditRound['contests'][number]['status']; reason: string }) => ({
  contestId: r.contestId,
  status: r.status,
  reason: r.reason,
})

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
    return { audit, source, manifest, N, containerSize: stored.containerSize, committed: stored, contests }
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
  const record = async (
    input: AuditRoundInput,
    outcome: AuditRound,
    drawn: AuditBallotRow[],
    decidedFrom?: readonly AuditBallotRow[],
  ): Promise<AuditRound> => {
    await recordAuditRound(sql, input.auditId, outcome, drawn, decidedFrom)
    const stored = (await readAuditRounds(sql, input.auditId)).find((r) => r.round === input.round)
    if (!stored) throw new Error(`round ${input.round} of audit ${input.auditId} was not recorded`)
    return stored
  }

  type Plan = Awaited<ReturnType<typeof plan>>
  type Previous = AuditRound | { draws: 0; contests: [] }

  /** The round before this one, as recorded (the sample before a round is that and nothing else). */
  const previousRound = async (input: AuditRoundInput): Promise<Previous> => {
    if (input.round === 1) return { draws: 0, contests: [] }
    const previous = (await readAuditRounds(sql, input.auditId)).find((r) => r.round === input.round - 1)
    if (!previous) throw new AppError('conflict', `audit ${input.auditId} has no round ${input.round - 1} to follow`)
    return previous
  }

  /** Comparison audits test the whole sample each round: the draws recorded before this round. */
  const earlierSample = (p: Plan, input: AuditRoundInput, previous: Previous) =>
    p.audit.method === 'ballot-comparison' && previous.draws > 0 ? readComparedSample(sql, input.auditId, previous.draws) : []

  const compared = (rows: readonly AuditBallotRow[]) => rows.map((b) => ({ cvr: b.cvr ?? null, paper: b.paper }))

  /**
   * The round's decision from its draws: BRAVO from the previous round's recorded counts
   * plus this round's papers (a county's late rounds do not read 100,000s of papers back),
   * or the super-simple test over every record and paper drawn so far.
   */
  const decide = (
    p: Plan,
    round: number,
    previous: Previous,
    earlier: readonly AuditBallotRow[],
    drawn: readonly AuditBallotRow[],
  ): AuditRound => {
    const options = { fullCountAt: fullCountAt(p.N) }
    const contests =
      p.audit.method === 'ballot-comparison'
        ? comparisonAudit(p.contests, p.audit.riskLimit, compared([...earlier, ...drawn]), options).map((r) => ({
            ...roundContest(r),
            pairs: r.pairs.map((x) => ({ winner: x.winner, loser: x.loser, pValue: x.pValue, discrepancies: x.counts })),
          }))
        : bravoAudit(
            p.contests,
            p.audit.riskLimit,
            drawn.map((b) => b.paper),
            { ...options, before: previous },
          ).map((r) => ({
            ...roundContest(r),
            pairs: r.pairs.map((x) => ({
              winner: x.winner,
              loser: x.loser,
              winnerBallots: x.winnerBallots,
              loserBallots: x.loserBallots,
              pValue: x.pValue,
            })),
          }))
    return { round, draws: previous.draws + drawn.length, contests }
  }

  /** The draws to have after this round: sized from the sample so far (rounds.ts). */
  const targetOf = (p: Plan, previous: Previous, earlier: readonly AuditBallotRow[], policy: RoundPolicy) => {
    const options = { fullCountAt: fullCountAt(p.N) }
    if (p.audit.method === 'ballot-comparison') {
      const before = earlier.length > 0 ? comparisonAudit(p.contests, p.audit.riskLimit, compared(earlier), options) : null
      return nextComparisonTarget(p.contests, p.audit.riskLimit, before, previous.draws, p.N, policy)
    }
    const before = previous.draws > 0 ? bravoAudit(p.contests, p.audit.riskLimit, [], { ...options, before: previous }) : null
    return nextRoundTarget(p.contests, p.audit.riskLimit, before, previous.draws, p.N, policy)
  }

  /** The tickets drawn in this round (chunked, yielding: a county's last rounds draw 100,000s). */
  const drawTickets = async (p: Plan, from: number, target: number) => {
    const manifest = p.manifest.map((b) => ({ id: b.name, ballots: b.ballots }))
    const draws: ReturnType<typeof drawSample> = []
    for (let at = from; at <= target; at += 5_000) {
      draws.push(...drawSample(p.audit.seed, manifest, Math.min(5_000, target - at + 1), at))
      await new Promise((r) => setImmediate(r))
    }
    return draws
  }

  /** Comparison: the records at the drawn places (the box in id order, cut as the manifest cuts it). */
  const recordsFor = async (p: Plan, draws: ReturnType<typeof drawSample>) =>
    p.audit.method === 'ballot-comparison'
      ? recordsAtPlaces(sql, p.source, p.containerSize, new Set(draws.map((d) => placeKey(d.batchId, d.position))))
      : new Map<string, BoxRow>()

  /**
   * Comparison, every round: the box still gives the committed records, and they add up to
   * the reported votes (audit-papers.ts); once: every ballot carries an imprint of its own,
   * or no paper can be found for its record.
   */
  const checkRecords = async (p: Plan, round: number) => {
    if (p.audit.method !== 'ballot-comparison') return
    await checkRecordsAreTheReported(sql, p.source, p.committed, p.contests)
    if (round > 1) return
    const box = await imprintCoverage(sql, p.audit.electionId)
    if (box.imprinted < box.ballots || box.distinct < box.imprinted)
      throw new AppError('conflict', `election ${p.audit.electionId}: not every ballot carries an imprint of its own`)
  }

  /**
   * A round whose papers the simulator reads: its size, its draws, each drawn place's paper
   * (polling: the paper at that place of the generator's stacks; comparison: the record at
   * that place and the paper with its imprint), the decision, recorded together.
   */
  const simulatedRound = async (input: AuditRoundInput, p: Plan, previous: Previous): Promise<AuditRound> => {
    const sim = await simulationOf(sql, p.source)
    // Once per audit: the papers are the generator's ballots 0..N−1 only if those are
    // exactly the ballots counted (a voter of a simulation can also cast through the API).
    if (input.round === 1) await checkPapersAreTheCount(sql, sim, p.audit.electionId, p.N)
    await checkRecords(p, input.round)
    const earlier = await earlierSample(p, input, previous)
    const target = targetOf(p, previous, earlier, input)
    const draws = await drawTickets(p, previous.draws + 1, target)
    const records = await recordsFor(p, draws)
    let drawn: AuditBallotRow[]
    if (p.audit.method === 'ballot-comparison') {
      const imprints = [...records.values()].flatMap((r) => (r.imprint ? [r.imprint] : []))
      const found = sim.papersByImprint(imprints, p.N)
      drawn = draws.map((d) => {
        const cvr = records.get(placeKey(d.batchId, d.position))
        const k = cvr?.imprint ? found.get(cvr.imprint) : undefined
        // The paper must lie in the record's own batch (its precinct and channel): one filed
        // elsewhere is not where the manifest puts it, and counts as not found.
        const at = k === undefined ? null : sim.validBallot(k)
        const inPlace = at !== null && sim.plan.regions[at.regionIndex]?.id === cvr?.regionId && at.channel === cvr?.channel
        const paper = k === undefined || !inPlace ? null : sim.paper(k)
        return {
          ...drawOf(d, input.round),
          paper: paper ? interpretation(paper, p.audit.contestIds) : null,
          cvr: cvr ? interpretation(cvr.marks, p.audit.contestIds) : null,
          imprint: cvr?.imprint ?? null,
        }
      })
    } else {
      const papers = await simulatedPapers(sim, p.manifest)
      const batches = new Map(p.manifest.map((b) => [b.name, b]))
      drawn = draws.map((d) => {
        const batch = batches.get(d.batchId)
        if (!batch) throw new AppError('conflict', `the sampler drew from ${d.batchId}, which the manifest does not have`)
        return { ...drawOf(d, input.round), paper: interpretation(papers.paperAt(batch, d.position, p.containerSize), p.audit.contestIds) }
      })
    }
    return record(input, decide(p, input.round, previous, earlier, drawn), drawn)
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
          const recorded = (await readAuditRounds(sql, input.auditId)).find((r) => r.round === input.round)
          if (recorded) return recorded
          const previous = await previousRound(input)
          const p = await inSnapshot((tx) => plan(tx, input.auditId))
          // The workflow's input and the audit's row must agree on who reads the papers.
          if (p.audit.papers !== 'simulator') throw new AppError('conflict', `audit ${input.auditId}: its papers are the board's to read`)
          return simulatedRound(input, p, previous)
        })(),
        `audit ${input.auditId}: round ${input.round}`,
        5_000,
      )
    },

    /**
     * An audit board's round, first half: its size and draws, recorded with their papers
     * pending (a place the board already read is filled from that reading; for a comparison,
     * the record at the place and the imprint to look for). Returns the draws still awaiting
     * the board. Recorded once: a retried attempt finds the draws and counts them.
     */
    async drawAuditRound(input: AuditRoundInput): Promise<{ draws: number; awaiting: number }> {
      return heartbeating(
        (async () => {
          const previous = await previousRound(input)
          const p = await inSnapshot((tx) => plan(tx, input.auditId))
          if (p.audit.papers !== 'board') throw new AppError('conflict', `audit ${input.auditId}: its papers are the simulator's to read`)
          if ((await readRoundDraws(sql, input.auditId, input.round)).length === 0) {
            await checkRecords(p, input.round)
            const earlier = await earlierSample(p, input, previous)
            const target = targetOf(p, previous, earlier, input)
            const draws = await drawTickets(p, previous.draws + 1, target)
            const records = await recordsFor(p, draws)
            const entered = await readEnteredPapers(sql, input.auditId)
            const rows = draws.map((d): AuditBallotRow => {
              const cvr = records.get(placeKey(d.batchId, d.position))
              const known = entered.get(placeKey(d.batchId, d.position))
              return {
                ...drawOf(d, input.round),
                paper: known?.paper ?? null,
                paperState: known?.paperState ?? 'pending',
                ...(p.audit.method === 'ballot-comparison'
                  ? { cvr: cvr ? interpretation(cvr.marks, p.audit.contestIds) : null, imprint: cvr?.imprint ?? null }
                  : {}),
              }
            })
            await recordDraws(sql, input.auditId, input.round, rows)
          }
          const draws = await readRoundDraws(sql, input.auditId, input.round)
          return { draws: previous.draws + draws.length, awaiting: draws.filter((d) => d.paperState === 'pending').length }
        })(),
        `audit ${input.auditId}: drawing round ${input.round}`,
        5_000,
      )
    },

    /** Draws of a round still waiting for the board (the workflow checks after a nudge, and every five minutes in case one was lost). */
    async papersAwaited(input: { auditId: string; round: number }): Promise<number> {
      return countAwaitedPapers(sql, input.auditId, input.round)
    },

    /** An audit board's round, second half: every paper read, the decision over the sample, recorded once. */
    async decideAuditRound(input: AuditRoundInput): Promise<AuditRound> {
      return heartbeating(
        (async () => {
          const recorded = (await readAuditRounds(sql, input.auditId)).find((r) => r.round === input.round)
          if (recorded) return recorded
          const previous = await previousRound(input)
          const p = await inSnapshot((tx) => plan(tx, input.auditId))
          const drawn = await readRoundDraws(sql, input.auditId, input.round)
          const awaiting = drawn.filter((d) => d.paperState === 'pending').length
          if (drawn.length === 0 || awaiting > 0)
            throw new AppError(
              'conflict',
              `round ${input.round} of audit ${input.auditId}: ${awaiting} of ${drawn.length} papers not read yet`,
            )
          const earlier = await earlierSample(p, input, previous)
          return record(input, decide(p, input.round, previous, earlier, drawn), [], drawn)
        })(),
        `audit ${input.auditId}: deciding round ${input.round}`,
        5_000,
      )
    },

    /** Whether the board has entered its full hand count (the workflow waits for it before concluding). */
    async handCountEntered(input: { auditId: string }): Promise<boolean> {
      return (await readAudit(sql, input.auditId))?.handCount != null
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
          const hand = !needsCount
            ? null
            : p.audit.papers === 'board'
              ? boardHandCount(p)
              : await fullHandCount(
                  await simulationOf(sql, p.source),
                  p.N,
                  p.contests.map((c) => c.rules),
                )
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
          const board = hand !== null && p.audit.papers === 'board' ? (p.audit.handCount ?? undefined) : undefined
          if (!(await finishAudit(sql, input.auditId, status, result, board))) {
            const now = await readAudit(sql, input.auditId)
            // The board replaced its count while this was concluding: conclude again from the new one.
            if (now?.status === 'running')
              throw new Error(`audit ${input.auditId}: the hand count changed while concluding; concluding again`)
          }
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
