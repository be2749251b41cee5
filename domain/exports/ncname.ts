/**
 * Ids for the NIST CDF formats: every `@id` (and every reference to one) must be an XML
 * NCName — it may not start with a digit, '.' or '-', and may hold no ':'. VoteStream's ids
 * (domain/ballot.ts ID_PATTERN) may do both, and names used as ids (a state, a party) may
 * hold anything. `ncname(kind, ...parts)` derives one id deterministically and without
 * collisions:
 *
 * - `kind` (letters and digits, starting with a letter, e.g. `ru`, `cs`) comes first, then
 *   `-`: ids of different kinds never meet, and the id always starts with a letter;
 * - each part is escaped: ASCII letters, digits, `.` and `-` stay; `_` becomes `__`; any
 *   other character becomes `_` + its code point in lower-case hex + `_` (`:` → `_3a_`);
 * - parts are joined with `_-`.
 *
 * The escape is injective and a reader can undo it: after a `_` comes `_` (a `_`), a hex
 * digit (an escaped character) or `-` (the next part), never two of these.
 */

const KIND = /^[A-Za-z][A-Za-z0-9]*$/
const PLAIN = /[A-Za-z0-9.-]/

export function escapeNcnamePart(part: string): string {
  let out = ''
  for (const ch of part) {
    if (ch === '_') out += '__'
    else if (PLAIN.test(ch)) out += ch
    else out += `_${(ch.codePointAt(0) as number).toString(16)}_`
  }
  return out
}

export function ncname(kind: string, ...parts: string[]): string {
  if (!KIND.test(kind)) throw new Error(`an NCName kind is letters and digits, starting with a letter: ${JSON.stringify(kind)}`)
  return `${kind}-${parts.map(escapeNcnamePart).join('_-')}`
}

/** The inverse of `ncname`: its kind and parts, or null when `id` is not one of its ids. */
export function parseNcname(id: string): { kind: string; parts: string[] } | null {
  const dash = id.indexOf('-')
  if (dash < 1 || !KIND.test(id.slice(0, dash))) return null
  const parts: string[] = []
  let cur = ''
  let i = dash + 1
  while (i < id.length) {
    const ch = id[i] as string
    if (ch !== '_') {
      if (!PLAIN.test(ch)) return null
      cur += ch
      i++
      continue
    }
    const next = id[i + 1]
    if (next === '_') {
      cur += '_'
      i += 2
    } else if (next === '-') {
      parts.push(cur)
      cur = ''
      i += 2
    } else {
      const end = id.indexOf('_', i + 1)
      const hex = id.slice(i + 1, end)
      if (end < 0 || !/^[0-9a-f]+$/.test(hex)) return null
      cur += String.fromCodePoint(Number.parseInt(hex, 16))
      i = end + 1
    }
  }
  parts.push(cur)
  return { kind: id.slice(0, dash), parts }
}

/**
 * An XML NCName (Namespaces in XML 1.0): a name start character — a letter, `_` or one of
 * the listed Unicode ranges — then name characters (those, digits, `.`, `-`, `·` and
 * combining marks), no `:`.
 */
const NC_START =
  'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}'
const NC_NAME = new RegExp(`^[${NC_START}][${NC_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*$`, 'u')

export const isNcname = (s: string) => NC_NAME.test(s)
