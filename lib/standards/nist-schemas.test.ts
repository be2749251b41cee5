import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { NIST_SCHEMAS, type NistSchema, nistSchemaText, nistValidator, STANDARDS_DIR } from './nist-schemas.ts'

describe("NIST's schemas", () => {
  for (const which of Object.keys(NIST_SCHEMAS) as NistSchema[]) {
    it(`${which}: the copy in standards/ is NIST's file, unchanged`, () => {
      const text = nistSchemaText(which)
      // Where the workplace's own copy is at hand, the two are the same bytes.
      const shared = join(STANDARDS_DIR, '..', '..', 'shared', 'standards', NIST_SCHEMAS[which].file)
      if (existsSync(shared)) expect(text).toBe(readFileSync(shared, 'utf8'))
    })
  }

  it('refuses a results report without its required parts, naming them', () => {
    const problems = nistValidator('results')({ '@type': 'ElectionResults.ElectionReport' })
    expect(problems.map((p) => p.message).join('\n')).toMatch(/required/)
  })
})
