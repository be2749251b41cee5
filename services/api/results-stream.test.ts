import { describe, expect, it } from 'vitest'
import type { ResultsSnapshot } from '../../domain/results.ts'
import { resultsFrame } from './results-stream.ts'

describe('resultsFrame: one results event per snapshot', () => {
  // Only what the frame reads: a version and something to serialise.
  const snapshot = (version: number) =>
    ({ electionId: 'e', version, regions: [{ id: 'r1', name: 'Nörth "1"' }] }) as unknown as ResultsSnapshot

  it('is the server-sent event a browser parses back into the snapshot', () => {
    const s = snapshot(42)
    const text = new TextDecoder().decode(resultsFrame(s))
    expect(text.endsWith('\n\n')).toBe(true)
    const fields = Object.fromEntries(
      text
        .trimEnd()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
    )
    expect(fields).toEqual({ event: 'results', id: '42', data: JSON.stringify(s) })
    expect(JSON.parse(fields.data as string)).toEqual(s)
  })

  it('is built once per snapshot, however many streams send it', () => {
    const s = snapshot(7)
    expect(resultsFrame(s)).toBe(resultsFrame(s))
    expect(resultsFrame(snapshot(7))).not.toBe(resultsFrame(s))
  })
})
