#!/usr/bin/env bun
/**
 * `bun run simulate [--voters N] [--rate N] [--candidates N] [--regions N] [--seed N]
 *                   [--invalid SHARE] [--duplicates SHARE] [--turnout SHARE] [--name TEXT]
 *                   [--contests true] [--keep]`
 *
 * Runs a simulated election (a generated country of states, counties and precincts; see
 * `--help`) from a terminal: uses VOTESTREAM_API_URL when set, else brings
 * up the local stack and the api, tally and worker processes, and stops what it started
 * (with `--keep` leaves them running, and says how to stop them).
 * Ctrl-C closes the polls early; the election is still counted and certified.
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { RATE_LIMITS } from '../../domain/rates.ts'
import { reconciliationResponseSchema } from '../../domain/reconciliation.ts'
import { REGIONS_INLINE, type ResultsSnapshot, simulationComparisonSchema } from '../../domain/results.ts'
import { SIMULATION_LIMITS } from '../../domain/simulation-limits.ts'
import { configOrExit, LOCAL_ADMIN_TOKEN, parseConfig } from '../../lib/config.ts'
import { contestListSchema, type Headline, headlineSchema, linksNote, pickHeadlines } from './format.ts'
import { startEmbedded } from './services.ts'
import { createRenderer, dim, type LiveView, printAboveLiveBlock, printCertified } from './terminal.ts'

/** What simulate reads from the environment, parsed once: an API to use instead of its own. */
const simulateEnv = z.object({
  VOTESTREAM_API_URL: z.url().optional(),
  API_ADMIN_TOKEN: z.string().min(16).default(LOCAL_ADMIN_TOKEN),
})

const L = SIMULATION_LIMITS
const flags = z.object({
  voters: z.coerce.number().int().min(L.voters.min).max(L.voters.max).default(L.voters.default),
  rate: z.coerce.number().min(RATE_LIMITS.min).max(RATE_LIMITS.max).default(L.ratePerSecond.default),
  turnout: z.coerce.number().gt(0).max(L.turnout.max).default(L.turnout.default),
  candidates: z.coerce.number().int().min(L.candidates.min).max(L.candidates.max).default(L.candidates.default),
  regions: z.coerce.number().int().min(L.regions.min).max(L.regions.max).default(L.regions.default),
  seed: z.coerce.number().int().min(0).max(L.seed.max).default(L.seed.default),
  invalid: z.coerce.number().min(0).max(L.invalidShare.max).default(L.invalidShare.default),
  duplicates: z.coerce.number().min(0).max(L.duplicateShare.max).default(L.duplicateShare.default),
  name: z.string().default('Simulated general election'),
  contests: z.enum(['true', 'false']).default('false'),
  keep: z.boolean().default(false),
})
/** Flags that take no value (`--keep`, not `--keep true`). */
const SWITCHES = new Set<string>(['keep'])

const USAGE = `usage: bun run simulate [flags]

Generates a seeded election and runs it through the pipeline to certification. The
country is made up from the seed: states, counties and precincts (each precinct is a
region, more or less urban), each precinct with its own turnout, channel mix and lean.
Early ballots arrive first, then election-day ballots as precincts report (rural ones
tend to be first, cities last), then mail ballots: early leads can fade.

  --voters N         registered voters, ${L.voters.min} to ${L.voters.max} (default ${L.voters.default})
  --turnout SHARE    share of them that vote, over 0 up to ${L.turnout.max}; each precinct draws its
                     own turnout around it, the total is exact (default ${L.turnout.default})
  --rate N           ballots sent per second, ${RATE_LIMITS.min} to ${RATE_LIMITS.max} (default ${L.ratePerSecond.default});
                     the run takes about voters × turnout ÷ rate seconds, plus start-up
  --candidates N     candidates on the ballot, ${L.candidates.min} to ${L.candidates.max} (default ${L.candidates.default}); the
                     first two are the main contenders, the rest smaller parties
  --regions N        precincts, ${L.regions.min} to ${L.regions.max} (default ${L.regions.default}), grouped into generated
                     counties and states; past ${REGIONS_INLINE} the live page lists states only
  --seed N           0 to ${L.seed.max}: the same seed gives the same country and
                     the same ballots (default ${L.seed.default})
  --invalid SHARE    invalid ballots injected per valid one, 0 to ${L.invalidShare.max} (default ${L.invalidShare.default})
  --duplicates SHARE second attempts by the same voter per valid ballot, 0 to
                     ${L.duplicateShare.max} (default ${L.duplicateShare.default})
  --name TEXT        the election's name (default "Simulated general election")
  --contests true    a long ballot: districts and ~150 contests (20–40 per precinct's
                     ballot: vote-for-N, measures with thresholds, write-ins, over- and
                     undervotes), results per contest at /elections/{id}/contests;
                     shows a few headline contests while it runs
  --keep             leave the local stack and the api, tally and worker processes
                     running at the end (the live page and the Temporal Web UI stay up),
                     and print how to stop them
  --help             this text

Uses VOTESTREAM_API_URL (and API_ADMIN_TOKEN) when set; otherwise brings up the local
stack and the api, tally and worker processes, and stops what it started at the end
(unless --keep).
Ctrl-C closes the polls early: what was cast is counted and certified.`

const say = (m: string) => printAboveLiveBlock(dim(`simulate: ${m}`))

async function main() {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      options: {
        ...Object.fromEntries(
          Object.keys(flags.shape).map((k) => [k, { type: SWITCHES.has(k) ? ('boolean' as const) : ('string' as const) }]),
        ),
        help: { type: 'boolean' },
      },
      allowPositionals: false,
    }).values
  } catch (err) {
    const valued = switchWithValue(process.argv.slice(2))
    console.error(
      `${valued ? `--${valued.flag}: takes no value ('${valued.value}' given): --${valued.flag} alone turns it on` : (err as Error).message}\n\n${USAGE}`,
    )
    process.exit(2)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const parsed = flags.safeParse(values)
  if (!parsed.success) {
    for (const i of parsed.error.issues) console.error(`--${i.path.join('.')}: ${i.message}`)
    process.exit(2)
  }
  const opts = parsed.data
  const env = configOrExit(() => parseConfig(simulateEnv, process.env))
  const started = Date.now()
  const external = env.VOTESTREAM_API_URL
  const embedded = external ? undefined : await startEmbedded(say)
  const api = external ?? embedded?.apiUrl ?? ''
  const admin = { authorization: `Bearer ${env.API_ADMIN_TOKEN}`, 'content-type': 'application/json' }
  const note = linksNote({
    external: embedded === undefined,
    keep: opts.keep,
    services: embedded?.started.services ?? [],
    stack: embedded?.started.stack ?? false,
  })
  const startedSomething = (embedded?.started.services.length ?? 0) > 0 || embedded?.started.stack === true
  let notePrinted = false
  let exitCode = 1
  try {
    const create = await fetch(`${api}/elections`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        name: opts.name,
        simulation: {
          voters: opts.voters,
          turnout: opts.turnout,
          invalidShare: opts.invalid,
          duplicateShare: opts.duplicates,
          seed: opts.seed,
          ratePerSecond: opts.rate,
          candidates: opts.candidates,
          regions: opts.regions,
          contests: opts.contests === 'true',
        },
        reconcileEverySeconds: 10,
      }),
    })
    if (create.status !== 201) throw new Error(`the API refused the election: ${create.status} ${await create.text()}`)
    const election = (await create.json()) as { id: string; links: Record<string, string> }
    say(
      `election ${election.id} is open; live page ${election.links.live}${startedSomething && !opts.keep ? ' (up while this run lasts; --keep leaves it up)' : ''}`,
    )

    // One Ctrl-C reaches this process more than once: the terminal signals the whole
    // foreground group, and `npx` and `bun run` forward what they get to their child. So
    // interrupts within INTERRUPT_ECHO_MS of the first are that same Ctrl-C; a second one
    // is a deliberate press after it.
    let stoppingSince = 0
    process.on('SIGINT', () => {
      const now = Date.now()
      if (stoppingSince && now - stoppingSince < INTERRUPT_ECHO_MS) return
      if (stoppingSince) {
        say('second Ctrl-C: leaving without waiting')
        if (!embedded) process.exit(130)
        if (opts.keep) {
          embedded.keep()
          for (const l of note) say(l)
          process.exit(130)
        }
        void embedded.stop().finally(() => process.exit(130))
        return
      }
      stoppingSince = now
      say('closing the polls early: counting what was cast, then certifying (Ctrl-C again to leave now)')
      void stopElection(api, election.id, admin).catch((err) =>
        say(`could not close the polls: ${err instanceof Error ? err.message : err}`),
      )
    })

    const headlines = opts.contests === 'true' ? followHeadlines(api, election.id) : undefined
    const final = await follow(api, election.id, Math.floor(opts.voters * opts.turnout), headlines)
    // Read once more after certification: the outcomes are final now.
    await headlines?.stop()
    const reconciliation = reconciliationResponseSchema.parse(await (await fetch(`${api}/elections/${election.id}/reconciliation`)).json())
    const truth = simulationComparisonSchema.parse(await (await fetch(`${api}/elections/${election.id}/simulation`)).json())
    printCertified(final, {
      verdict: `${reconciliation.verdict} (${reconciliation.reports} reconciliation runs, ${reconciliation.repairs} repairs)`,
      truth,
      headlines: headlines?.view(),
      urls: {
        'live page': election.links.live ?? '',
        results: election.links.results ?? '',
        ...(headlines ? { contests: `${api}/elections/${election.id}/contests` } : {}),
        'API docs': `${api}/docs`,
        'Temporal Web UI': election.links.workflow ?? '',
      },
      linksNote: note,
    })
    notePrinted = true
    if (stoppingSince) say(`stopped early: ${final.totals.counted.toLocaleString('en-US')} ballots counted and certified`)
    say(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    exitCode = truth.matches ? 0 : 1
  } finally {
    if (embedded && opts.keep) {
      embedded.keep()
      if (!notePrinted) for (const l of note) say(l)
    } else if (embedded) {
      if (startedSomething) say('stopping the processes this run started')
      await embedded.stop()
    } else if (!notePrinted) for (const l of note) say(l)
  }
  process.exit(exitCode)
}

/** A switch given a value (`--keep true`), which parseArgs reports only as a stray argument. */
function switchWithValue(args: string[]): { flag: string; value: string } | undefined {
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]?.startsWith('--') ? args[i]?.slice(2) : undefined
    if (flag === undefined || flag.includes('=')) continue
    const next = args[i + 1]
    if (!SWITCHES.has(flag))
      i++ // a string flag's value, whatever it looks like
    else if (next !== undefined && !next.startsWith('-')) return { flag, value: next }
  }
  return undefined
}

/** How long after a Ctrl-C further interrupts count as echoes of it. */
const INTERRUPT_ECHO_MS = 1500

/** Asks the API to close the polls, retrying a few times: the request must not be lost to a blip. */
async function stopElection(api: string, id: string, headers: Record<string, string>) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${api}/elections/${id}/stop`, { method: 'POST', headers })
      if (res.ok || res.status === 409) return
      throw new Error(`the API answered ${res.status}`)
    } catch (err) {
      if (attempt >= 5) throw err
      await new Promise((r) => setTimeout(r, 500 * attempt))
    }
  }
}

/**
 * Reads the headline contests of an election with contests while it runs, from the API
 * the live page reads: the list once, then each headline contest, round after round. A
 * pause follows each round (2 s, or five times what the round took if more: on a large
 * election each read sums many cells, and the count must keep the machine).
 */
function followHeadlines(api: string, id: string) {
  let ids: string[] | undefined
  let total = 0
  let shown: Headline[] = []
  let stopped = false
  let complained = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const read = async <T>(path: string, schema: z.ZodType<T>): Promise<T> => {
    const res = await fetch(`${api}/elections/${id}${path}`)
    if (!res.ok) throw new Error(`GET /elections/${id}${path} answered ${res.status}`)
    return schema.parse(await res.json())
  }
  const round = async () => {
    if (!ids) {
      const list = (await read('/contests', contestListSchema)).contests
      ids = pickHeadlines(list)
      total = list.length
    }
    shown = await Promise.all(ids.map((c) => read(`/contests/${encodeURIComponent(c)}`, headlineSchema)))
  }
  const loop = async () => {
    const began = Date.now()
    try {
      await round()
    } catch (err) {
      if (!complained) {
        complained = true
        const why = err instanceof z.ZodError ? 'an answer of an unexpected shape' : err instanceof Error ? err.message : String(err)
        say(`headline contests: ${why}; trying again`)
      }
    }
    if (!stopped) timer = setTimeout(() => (current = loop()), Math.max(2000, 5 * (Date.now() - began)))
  }
  let current = loop()
  return {
    view: () => (shown.length > 0 ? { shown, total } : undefined),
    /** Stops following, after one last read (the outcomes once counting is over). */
    async stop() {
      stopped = true
      clearTimeout(timer)
      await current
      await round().catch(() => undefined)
    },
  }
}

/** Follows the SSE stream (and the workflow's progress) until the election is certified. */
async function follow(
  api: string,
  id: string,
  target: number,
  headlines?: { view: () => LiveView['headlines'] },
): Promise<ResultsSnapshot> {
  const render = createRenderer()
  const view: LiveView = { phase: 'open', produced: 0, target, rate: 0, paused: false, snapshot: undefined }
  const progress = setInterval(async () => {
    view.headlines = headlines?.view()
    try {
      const e = (await (await fetch(`${api}/elections/${id}`)).json()) as {
        status: string
        progress: { produced: number; nextIndex: number; ballotCount: number; rate: number; paused: boolean; phase: string } | null
      }
      if (e.progress)
        Object.assign(view, {
          produced: e.progress.nextIndex,
          target: e.progress.ballotCount,
          rate: e.progress.rate,
          paused: e.progress.paused,
        })
      view.phase = e.progress?.phase ?? e.status
      render.draw(view)
    } catch {
      // the next tick tries again
    }
  }, 500)
  try {
    for (;;) {
      const res = await fetch(`${api}/elections/${id}/results/stream`)
      if (!res.ok || !res.body) throw new Error(`the results stream answered ${res.status}`)
      const decoder = new TextDecoder()
      let buffer = ''
      const reader = res.body.getReader()
      for (;;) {
        const { value: chunk, done } = await reader.read()
        if (done) break
        buffer += decoder.decode(chunk, { stream: true })
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const event = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n')
          if (data) {
            const snapshot = JSON.parse(data) as ResultsSnapshot
            if (!view.snapshot || snapshot.version >= view.snapshot.version) view.snapshot = snapshot
            view.phase = snapshot.status
            render.draw(view)
            if (snapshot.status === 'certified') return snapshot
          }
          end = buffer.indexOf('\n\n')
        }
      }
    }
  } finally {
    clearInterval(progress)
  }
}

main().catch((err) => {
  console.error(`simulate: ${err instanceof Error ? err.message : err}`)
  process.exit(1)
})
