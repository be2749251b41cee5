#!/usr/bin/env bun
/**
 * `bun scripts/check-boundaries.ts [root]`: fails (exit 1) on an import that crosses
 * a room's boundary (the rules are in scripts/boundaries.ts), naming file:line and the rule,
 * and on an allow-list entry that no longer matches anything. Part of `bun run lint`.
 * `root` (default: this repository) lets a test point it at a copy.
 */
import { join, resolve } from 'node:path'
import { checkBoundaries, describe } from './boundaries.ts'

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'))
const { files, violations, tolerated, stale } = checkBoundaries(root)

if (violations.length > 0) console.error(`Imports that cross a boundary:\n${violations.map(describe).join('\n')}`)
if (stale.length > 0)
  console.error(
    `Allow-list entries in scripts/boundaries.ts that match nothing any more; remove them:\n${stale
      .map((a) => `${a.file} → ${a.target} [${a.rule}]`)
      .join('\n')}`,
  )
if (violations.length > 0 || stale.length > 0) process.exit(1)
console.log(
  `boundaries: ${files} files, no import crosses a boundary` +
    (tolerated.length > 0 ? ` (${tolerated.length} tolerated until their moves land: see ALLOWED in scripts/boundaries.ts)` : ''),
)
