import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Allowed, checkBoundaries } from './boundaries.ts'

const ROOT = join(import.meta.dirname, '..')
const BUN = join(ROOT, 'node_modules', '.bin', 'bun')

const made: string[] = []
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A throwaway repository holding `files` (path → text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'boundaries-'))
  made.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

/** The violations in `files` with nothing allowed, as `file:line rule target`. */
const found = (files: Record<string, string>, allowed: Allowed[] = []) =>
  checkBoundaries(tree(files), allowed).violations.map((v) => `${v.file}:${v.line} ${v.rule} ${v.target}`)

describe('the boundaries between rooms', () => {
  it('an entry point may not import another: the CLI from the API, the benchmark from the stack', () => {
    expect(
      found({
        'cli/simulate/main.ts': "import { z } from 'zod'\nimport { LOCAL_ADMIN_TOKEN } from '../../services/api/config.ts'\n",
        'services/api/config.ts': '',
        'bench/main.ts': "import { waitUntil } from '../stack/proc.ts'\n",
        'stack/proc.ts': "import { waitUntil } from '../lib/wait.ts'\n",
        'lib/wait.ts': '',
      }),
    ).toEqual(['bench/main.ts:1 entry-points-apart stack/proc.ts', 'cli/simulate/main.ts:2 entry-points-apart services/api/config.ts'])
  })

  it('a service may import its own files but not another service', () => {
    expect(
      found({
        'services/api/routes/ballots.ts': "import { deps } from '../deps.ts'\nimport { limits } from '../limits/config.ts'\n",
        'services/api/deps.ts': "import type { X } from '../tally/count-batch.ts'\n",
        'services/api/limits/config.ts': '',
        'services/tally/count-batch.ts': '',
      }),
    ).toEqual(['services/api/deps.ts:1 entry-points-apart services/tally/count-batch.ts'])
  })

  it('domain imports only domain and npm packages', () => {
    expect(
      found({
        'domain/a.ts':
          "import { z } from 'zod'\nimport { b } from './b.ts'\nimport { createHash } from 'node:crypto'\nimport { LOCAL } from '../lib/local-stack.ts'\n",
        'domain/b.ts': '',
        'lib/local-stack.ts': '',
      }),
    ).toEqual(['domain/a.ts:3 domain-pure node:crypto', 'domain/a.ts:4 domain-pure lib/local-stack.ts'])
  })

  it('lib imports no entry point, workflows or activities', () => {
    expect(
      found({
        'lib/temporal.ts': "import { signal } from '../workflows/election.ts'\n",
        'lib/a.ts':
          "import { x } from '../activities/index.ts'\nimport { y } from '../cli/simulate/terminal.ts'\nimport { z } from '../domain/ballot.ts'\n",
        'workflows/election.ts': '',
        'activities/index.ts': '',
        'cli/simulate/terminal.ts': '',
        'domain/ballot.ts': '',
      }),
    ).toEqual([
      'lib/a.ts:1 lib-below-entry-points activities/index.ts',
      'lib/a.ts:2 lib-below-entry-points cli/simulate/terminal.ts',
      'lib/temporal.ts:1 lib-below-entry-points workflows/election.ts',
    ])
  })

  it('lib/db speaks only SQL: kafkajs, even as a type or through another module, is a violation', () => {
    const root = tree({
      'lib/db/outbox.ts':
        "import type { Producer } from 'kafkajs'\nimport { send } from '../ballot-producer.ts'\nimport { sql } from './sql.ts'\n",
      'lib/db/sql.ts': "import postgres from 'postgres'\n",
      'lib/ballot-producer.ts': "import { createKafka } from './kafka.ts'\n",
      'lib/kafka.ts': "import { Kafka } from 'kafkajs'\n",
    })
    const { violations } = checkBoundaries(root, [])
    expect(violations.map((v) => [v.file, v.line, v.rule, v.target, v.via])).toEqual([
      ['lib/db/outbox.ts', 1, 'lib-db-sql-only', 'kafkajs', undefined],
      ['lib/db/outbox.ts', 2, 'lib-db-sql-only', 'lib/ballot-producer.ts', ['lib/kafka.ts', 'kafkajs']],
    ])
  })

  it('reads imports as the compiler does: multi-line and dynamic imports count, comments and strings do not', () => {
    expect(
      found({
        'cli/x/main.ts': [
          "// import { a } from '../../services/api/config.ts'",
          'const s = "import b from \'../../stack/proc.ts\'"',
          'import {',
          '  c,',
          "} from '../../services/api/config.ts'",
          "const d = await import('../../bench/main.ts')",
        ].join('\n'),
        'services/api/config.ts': '',
        'bench/main.ts': '',
      }),
    ).toEqual(['cli/x/main.ts:5 entry-points-apart services/api/config.ts', 'cli/x/main.ts:6 entry-points-apart bench/main.ts'])
  })

  it('leaves tests out of scope', () => {
    expect(
      found({
        'cli/simulate/main.test.ts': "import { x } from '../../services/api/config.ts'\n",
        'services/api/config.ts': '',
      }),
    ).toEqual([])
  })

  it('an allow-list entry tolerates exactly its import, and one that matches nothing is stale', () => {
    const allowed: Allowed[] = [
      { file: 'bench/parts.ts', rule: 'entry-points-apart', target: 'services/tally/count-batch.ts', why: 'pending' },
      { file: 'bench/parts.ts', rule: 'entry-points-apart', target: 'services/tally/gone.ts', why: 'landed' },
    ]
    const root = tree({
      'bench/parts.ts': "import { a } from '../services/tally/count-batch.ts'\nimport { b } from '../services/tally/consumer.ts'\n",
      'services/tally/count-batch.ts': '',
      'services/tally/consumer.ts': '',
    })
    const result = checkBoundaries(root, allowed)
    expect(result.violations.map((v) => v.target)).toEqual(['services/tally/consumer.ts'])
    expect(result.tolerated.map((v) => v.target)).toEqual(['services/tally/count-batch.ts'])
    expect(result.stale.map((a) => a.target)).toEqual(['services/tally/gone.ts'])
  })
})

describe('bun scripts/check-boundaries.ts (as `bun run lint` runs it)', () => {
  const check = (root: string) => spawnSync(BUN, ['scripts/check-boundaries.ts', root], { cwd: ROOT, encoding: 'utf8' })

  it('passes on this repository', () => {
    const run = check(ROOT)
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
  })

  it('fails on a copy of this repository with one cross-room import added, naming file:line and the rule', () => {
    const copy = mkdtempSync(join(tmpdir(), 'boundaries-copy-'))
    made.push(copy)
    for (const dir of ['cli', 'services', 'bench', 'stack', 'grafana', 'domain', 'lib', 'workflows', 'activities'])
      cpSync(join(ROOT, dir), join(copy, dir), { recursive: true })
    expect(check(copy).status).toBe(0)

    writeFileSync(
      join(copy, 'cli', 'simulate', 'peek.ts'),
      "import { z } from 'zod'\nimport { apiConfig } from '../../services/api/config.ts'\nexport const peek = z.object(apiConfig.shape)\n",
    )
    const run = check(copy)
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('cli/simulate/peek.ts:2: [entry-points-apart] imports services/api/config.ts')
  })
})
