#!/usr/bin/env bun
/**
 * SQL lives in lib/db/: fails (exit 1) if a tagged SQL template (`sql\`…\``, `tx\`…\``,
 * `db\`…\``) appears in the services, activities, workflows, the CLI or the domain. Part
 * of `bun run lint`. Migrations, the dashboards' panel queries, the benchmark and tests
 * are outside its scope.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dirname, '..')
const CHECKED = ['services', 'activities', 'workflows', 'cli', 'domain']
const TAGGED_SQL = /\b(sql|tx|db)(<[^>\n]*>)?`/

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) yield path
  }
}

const found: string[] = []
for (const dir of CHECKED) {
  for (const file of files(join(ROOT, dir))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (TAGGED_SQL.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`)
      })
  }
}
if (found.length > 0) {
  console.error(`SQL belongs in lib/db/; move these:\n${found.join('\n')}`)
  process.exit(1)
}
console.log(`sql-location: no SQL outside lib/db/ in ${CHECKED.join(', ')}`)
