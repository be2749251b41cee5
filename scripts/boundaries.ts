/**
 * The rooms of the house and which may import which (ARCHITECTURE.md, "Code layers"),
 * checked by `scripts/check-boundaries.ts` as part of `bun run lint`:
 *
 * - entry points — each command of `cli/`, each service of `services/`, `bench/`, `stack/`
 *   and `grafana/` — import from `domain/`, `lib/` and themselves, never from one another
 *   (a file of `services/api/` may import any other file of `services/api/`; one of
 *   `services/tally/` may not). They run as processes: one starts another, it does not
 *   borrow its modules.
 * - `domain/` imports only `domain/` and npm packages: contracts and rules, no I/O.
 * - `lib/` imports no entry point, `workflows/` or `activities/`: it is the floor below.
 * - `lib/db/` speaks only SQL: it imports neither `kafkajs` nor a module that does.
 *
 * Tests (`*.test.ts`, `test/`) are out of scope: they may reach into any room.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, normalize, relative, sep } from 'node:path'
import ts from 'typescript'

export type Rule = 'entry-points-apart' | 'domain-pure' | 'lib-below-entry-points' | 'lib-db-sql-only'

export const RULES: Record<Rule, string> = {
  'entry-points-apart': 'entry points (cli/*, services/*, bench, stack, grafana) import from domain/ and lib/, never from one another',
  'domain-pure': 'domain/ imports only domain/ and npm packages',
  'lib-below-entry-points': 'lib/ imports no entry point, workflows/ or activities/',
  'lib-db-sql-only': 'lib/db/ speaks only SQL: no kafkajs, directly or through another module',
}

/** One import that breaks a rule; `target` is a repository path or a package name. */
export interface Violation {
  file: string
  line: number
  rule: Rule
  target: string
  /** For an indirect reach of kafkajs: the chain of imports that gets there. */
  via?: string[]
}

/** A known violation, tolerated until the move it waits for lands; exact file, rule and target. */
export interface Allowed {
  file: string
  rule: Rule
  target: string
  why: string
}

/**
 * What is tolerated today: nothing (issue 26's moves have landed). A move that cannot land
 * in one change may list here the crossings it waits for, each with its reason. Each entry
 * is one import of one file, so a new crossing in the same file still fails; an entry that
 * no longer matches anything fails too, so the list shrinks as the moves land.
 */
export const ALLOWED: Allowed[] = []

/** Folders whose files the rules apply to (as importers). */
const CHECKED = ['cli', 'services', 'bench', 'stack', 'grafana', 'domain', 'lib']
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/
const TEST = /\.test\.[cm]?[jt]sx?$/

/** The room of a repository path: `cli/<command>`, `services/<service>`, else its top folder. */
export function roomOf(path: string): string {
  const [top = '', second] = path.split('/')
  if ((top === 'cli' || top === 'services') && second !== undefined && path.includes('/', top.length + 1)) return `${top}/${second}`
  return top
}

const ENTRY_TOPS = new Set(['cli', 'services', 'bench', 'stack', 'grafana'])
const isEntryPoint = (path: string) => ENTRY_TOPS.has(roomOf(path).split('/')[0] ?? '')
const isRuntimeBuiltin = (spec: string) =>
  spec.startsWith('node:') || spec === 'bun' || spec.startsWith('bun:') || builtinModules.includes(spec.split('/')[0] ?? '')

/** An import of a file: its specifier resolved to a repository path, or a package name. */
interface Import {
  line: number
  /** Repository path (relative, with `/`) for a relative import; else the bare specifier. */
  target: string
  local: boolean
}

export function checkBoundaries(root: string, allowed: Allowed[] = ALLOWED) {
  const importsCache = new Map<string, Import[]>()
  const importsOf = (file: string): Import[] => {
    const cached = importsCache.get(file)
    if (cached) return cached
    const text = readFileSync(join(root, file), 'utf8')
    const lineStarts = [0]
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1)
    const lineAt = (pos: number) => {
      let lo = 0
      let hi = lineStarts.length - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        if ((lineStarts[mid] ?? 0) <= pos) lo = mid
        else hi = mid - 1
      }
      return lo + 1
    }
    // The compiler's own scanner: comments and strings are not imports; `import type`,
    // `export … from` and `import()` are.
    const found = ts.preProcessFile(text, true, true).importedFiles.map(({ fileName, pos }): Import => {
      const local = fileName.startsWith('.') || fileName.startsWith('/')
      const target = local ? toRepoPath(root, join(root, dirname(file), fileName)) : packageName(fileName)
      return { line: lineAt(pos), target, local }
    })
    importsCache.set(file, found)
    return found
  }

  // Which repository files reach kafkajs, and by which chain of imports (undefined: they do not).
  const kafkaChains = new Map<string, string[] | undefined>()
  const kafkaChain = (file: string): string[] | undefined => {
    if (kafkaChains.has(file)) return kafkaChains.get(file)
    kafkaChains.set(file, undefined) // a cycle reaches nothing new
    const path = sourceFile(root, file)
    let chain: string[] | undefined
    if (path) {
      for (const i of importsOf(path)) {
        if (i.target === 'kafkajs') chain = ['kafkajs']
        else if (i.local) {
          const further = kafkaChain(i.target)
          if (further) chain = [i.target, ...further]
        }
        if (chain) break
      }
    }
    kafkaChains.set(file, chain)
    return chain
  }

  const violations: Violation[] = []
  const files = CHECKED.flatMap((dir) => [...sourceFiles(root, dir)])
  for (const file of files) {
    const room = roomOf(file)
    for (const { line, target, local } of importsOf(file)) {
      const add = (rule: Rule, via?: string[]) => violations.push({ file, line, rule, target, ...(via ? { via } : {}) })
      const targetRoom = local ? roomOf(target) : undefined
      if (isEntryPoint(file) && targetRoom !== undefined && targetRoom !== room && isEntryPoint(target)) add('entry-points-apart')
      if (room === 'domain' && (local ? targetRoom !== 'domain' : isRuntimeBuiltin(target))) add('domain-pure')
      if (room === 'lib' && targetRoom !== undefined && (isEntryPoint(target) || targetRoom === 'workflows' || targetRoom === 'activities'))
        add('lib-below-entry-points')
      if (file.startsWith('lib/db/')) {
        if (target === 'kafkajs') add('lib-db-sql-only')
        else if (local) {
          const chain = kafkaChain(target)
          if (chain) add('lib-db-sql-only', chain)
        }
      }
    }
  }

  violations.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
  const matches = (a: Allowed, v: Violation) => a.file === v.file && a.rule === v.rule && a.target === v.target
  return {
    files: files.length,
    violations: violations.filter((v) => !allowed.some((a) => matches(a, v))),
    tolerated: violations.filter((v) => allowed.some((a) => matches(a, v))),
    /** Entries that match nothing any more: the move landed, so the entry goes. */
    stale: allowed.filter((a) => !violations.some((v) => matches(a, v))),
  }
}

/** `file:line: [rule] imports target (why that is not allowed)`. */
export function describe(v: Violation): string {
  const via = v.via ? `, which reaches ${v.via.join(' → ')}` : ''
  return `${v.file}:${v.line}: [${v.rule}] imports ${v.target}${via} — ${RULES[v.rule]}`
}

function* sourceFiles(root: string, dir: string): Generator<string> {
  const full = join(root, dir)
  if (!existsSync(full)) return
  for (const name of readdirSync(full).sort()) {
    const path = join(dir, name)
    if (statSync(join(root, path)).isDirectory()) {
      if (name !== 'node_modules' && name !== 'test') yield* sourceFiles(root, path)
    } else if (SOURCE.test(name) && !TEST.test(name) && !name.endsWith('.d.ts')) yield path.split(sep).join('/')
  }
}

/** `a/b/../c.ts` under root as `a/c.ts`; a path outside the root stays `../…`. */
function toRepoPath(root: string, absolute: string): string {
  return relative(root, normalize(absolute)).split(sep).join('/')
}

/** The file a local import names, as on disk: `x.js` may be `x.ts`, a folder its index. */
function sourceFile(root: string, path: string): string | undefined {
  const candidates = [path, path.replace(/\.[cm]?js$/, '.ts'), `${path}.ts`, `${path}/index.ts`]
  return candidates.find((c) => existsSync(join(root, c)) && statSync(join(root, c)).isFile())
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec)
}
