import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv04 from 'ajv-draft-04'
import addFormats from 'ajv-formats'

/**
 * NIST's own JSON schemas (draft-04) for the two formats VoteStream exports, kept byte for
 * byte in `standards/` as NIST publishes them. Exports are validated against these files and
 * never against a schema written here; the pinned hashes make an edited copy fail loudly.
 */
export const NIST_SCHEMAS = {
  /** SP 1500-100 Rev. 2, Election Results Reporting CDF (usnistgov/ElectionResultsReporting, branch version2). */
  results: { file: 'nist-1500-100-v2-results.schema.json', sha256: '55c1c6382bf5ba369ae05d58c3f4bab6b487a2e8c01720ee87209b9a85e5d3db' },
  /** SP 1500-103, Cast Vote Records CDF (usnistgov/CastVoteRecords, branch master). */
  cvr: { file: 'nist-1500-103-cvr.schema.json', sha256: 'f1b037e6303450b451dcf5c7a0db2ab025c5869376242ed772cb4f05b1944e89' },
} as const
export type NistSchema = keyof typeof NIST_SCHEMAS

export const STANDARDS_DIR = join(import.meta.dirname, '..', '..', 'standards')

export function nistSchemaText(which: NistSchema): string {
  const { file, sha256 } = NIST_SCHEMAS[which]
  const text = readFileSync(join(STANDARDS_DIR, file), 'utf8')
  const actual = createHash('sha256').update(text).digest('hex')
  if (actual !== sha256) throw new Error(`standards/${file} is not NIST's file (sha256 ${actual}, expected ${sha256})`)
  return text
}

export interface SchemaProblem {
  path: string
  message: string
}

/** A validator for one of NIST's schemas: the problems of a document, none when it conforms. */
export function nistValidator(which: NistSchema): (doc: unknown) => SchemaProblem[] {
  const ajv = new Ajv04({ allErrors: true, strict: false })
  addFormats(ajv)
  const validate = ajv.compile(JSON.parse(nistSchemaText(which)))
  return (doc) => {
    if (validate(doc)) return []
    return (validate.errors ?? []).map((e) => ({
      path: e.instancePath || '/',
      message: `${e.message ?? 'invalid'} ${JSON.stringify(e.params)}`,
    }))
  }
}
