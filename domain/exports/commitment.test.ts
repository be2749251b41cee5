import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { commit, commitFiles, digestChunks, digestFile, Sha256, sha256Hex, verifyCommitment } from './commitment.ts'

const node = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

describe('SHA-256', () => {
  it("gives FIPS 180-4's example digests", () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0')
  })

  it('agrees with node:crypto on any bytes, however they are chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat({ max: 300 }), { maxLength: 5 }), (bytes, cuts) => {
        const h = new Sha256()
        let at = 0
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const to = Math.min(c, bytes.length)
          if (to > at) h.update(bytes.subarray(at, to))
          at = Math.max(at, to)
        }
        h.update(bytes.subarray(at))
        expect(h.hex()).toBe(node(bytes))
      }),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (s) => {
        expect(sha256Hex(s)).toBe(node(s))
      }),
    )
  })
})

describe('the commitment to the audit files', () => {
  const files = [
    { name: 'cvr.json', content: '{"@type":"CVR.CastVoteRecordReport"}' },
    { name: 'ballot-manifest.csv', content: 'Container,Tabulator,Batch Name,Number of Ballots\r\nP1,mail,P1/mail/1,3\r\n' },
    { name: 'batch-tallies-council.csv', content: new TextEncoder().encode('Batch Name,Ann\r\nP1/mail/1,2\r\n') },
  ]

  it("commits to sha256sum's list of the files, sorted by name", () => {
    const c = commitFiles(files)
    expect(c.list).toBe(
      `${node(files[1]?.content as string)}  ballot-manifest.csv\n` +
        `${node(files[2]?.content as Uint8Array)}  batch-tallies-council.csv\n` +
        `${node(files[0]?.content as string)}  cvr.json\n`,
    )
    expect(c.commitment).toBe(node(c.list))
    const size = (x: string | Uint8Array) => (typeof x === 'string' ? new TextEncoder().encode(x).length : x.length)
    expect(c.files.map((f) => f.bytes)).toEqual([files[1], files[2], files[0]].map((f) => size(f?.content ?? '')))
    expect(commitFiles([...files].reverse())).toEqual(c)
  })

  it('changes when one byte of one file changes', () => {
    const base = commitFiles(files).commitment
    for (const [i, f] of files.entries()) {
      const bytes = typeof f.content === 'string' ? new TextEncoder().encode(f.content) : new Uint8Array(f.content)
      for (const at of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
        const changed = new Uint8Array(bytes)
        changed[at] = (changed[at] as number) ^ 1
        const others = files.map((g, j) => (j === i ? { name: g.name, content: changed } : g))
        expect(commitFiles(others).commitment).not.toBe(base)
      }
    }
    // A renamed file changes it too.
    expect(commitFiles(files.map((f, j) => (j === 0 ? { ...f, name: 'cvrs.json' } : f))).commitment).not.toBe(base)
  })

  it('verifies the files against what was published, naming what differs', () => {
    const published = commitFiles(files)
    expect(verifyCommitment(files, published)).toEqual({ ok: true, problems: [] })
    expect(verifyCommitment(files, published.commitment).ok).toBe(true)
    const tampered = files.map((f) => (f.name === 'cvr.json' ? { ...f, content: `${f.content} ` } : f))
    const v = verifyCommitment(tampered, published)
    expect(v.ok).toBe(false)
    expect(v.problems[0]).toMatch(/^cvr\.json: sha256/)
    expect(verifyCommitment(files.slice(1), published).problems).toContain('cvr.json: missing')
    expect(verifyCommitment([...files, { name: 'extra.csv', content: '' }], published).problems).toContain(
      'extra.csv: not in the published set',
    )
    expect(verifyCommitment(files, { ...published, commitment: '0'.repeat(64) }).ok).toBe(false)
  })

  it('hashes a streamed file as it goes, and takes digests made elsewhere', () => {
    const chunks = ['{"CVR":[', '{"a":1}', ',', '{"b":"ü"}', ']}']
    const whole = chunks.join('')
    expect(digestChunks('cvr.json', chunks)).toEqual(digestFile('cvr.json', whole))
    expect(commit([{ name: 'cvr.json', sha256: node(whole), bytes: 0 }]).commitment).toBe(
      commitFiles([{ name: 'cvr.json', content: whole }]).commitment,
    )
  })

  it('refuses names that would make the list ambiguous, and a name twice', () => {
    for (const name of ['a b.csv', 'a\nb', '../x.csv', 'dir/x.csv', '', '.hidden']) expect(() => digestFile(name, '')).toThrow(/file name/)
    expect(() => commitFiles([files[0], files[0]] as typeof files)).toThrow(/twice/)
    expect(() => commit([{ name: 'x.csv', sha256: 'ABC', bytes: 0 }])).toThrow(/64 lower-case hex/)
  })
})
