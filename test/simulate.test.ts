import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BUN, ROOT } from './helpers.ts'

const run = promisify(execFile)

/** Processes of ours that a finished simulation must not leave behind. */
async function leftovers(): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'args'])
  return stdout.split('\n').filter((l) => /services\/(api|tally)\/main\.ts|\.build\/worker\/main\.js/.test(l) && !l.includes('ps -eo'))
}

describe('bun run simulate', () => {
  it('runs an election to a certified result equal to the ground truth and leaves no process behind', async () => {
    expect(await leftovers()).toEqual([])
    const { stdout } = await run(BUN, ['cli/simulate/main.ts', '--voters', '8000', '--rate', '4000', '--seed', '7'], {
      cwd: ROOT,
      timeout: 240_000,
      env: { ...process.env, VOTESTREAM_API_URL: '' },
    })
    expect(stdout).toMatch(/CERTIFIED/)
    expect(stdout).toMatch(/ground truth: the count equals what the generator produced/)
    expect(stdout).toMatch(/counted 5,600 of 8,000 registered voters/)
    expect(stdout).toMatch(/reconciliation: match/)
    expect(stdout).toMatch(/Temporal Web UI\s+http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/election-/)
    expect(await leftovers()).toEqual([])
  }, 300_000)

  it('closes the polls on one Ctrl-C in a real terminal, certifies what was cast, exits 0 and leaves nothing behind', async () => {
    expect(await leftovers()).toEqual([])
    // The README's command in a pseudo-terminal: the terminal signals the whole foreground
    // group (npx, bun run and simulate), and npx and bun run forward their SIGINT too.
    const { stdout } = await run(
      'python3',
      [
        'test/pty/press-ctrl-c.py',
        // Pressed once ballots flow: the status line says "open" only after the roll of
        // 200,000 voters is written, which took over 6 s on a loaded 2-core machine.
        'open ',
        '240',
        '4',
        '--',
        'npx',
        'bun',
        'run',
        'simulate',
        '--voters',
        '200000',
        '--rate',
        '3000',
        '--seed',
        '11',
      ],
      { cwd: ROOT, timeout: 300_000, env: { ...process.env, VOTESTREAM_API_URL: '' }, maxBuffer: 64 * 1024 * 1024 },
    )
    expect(stdout).toMatch(/closing the polls early/)
    expect(stdout).not.toMatch(/second Ctrl-C/)
    expect(stdout).toMatch(/CERTIFIED/)
    expect(stdout).toMatch(/ground truth: the count equals what the generator produced/)
    expect(stdout).toMatch(/stopped early: [1-9][\d,]* ballots counted and certified/)
    expect(stdout.trim().split('\n').pop()).toBe('EXIT 0')
    expect(await leftovers()).toEqual([])
  }, 320_000)

  it('explains its flags and refuses unknown ones', async () => {
    const help = await run(BUN, ['cli/simulate/main.ts', '--help'], { cwd: ROOT })
    expect(help.stdout).toMatch(/--voters N/)
    await expect(run(BUN, ['cli/simulate/main.ts', '--voters', 'lots'], { cwd: ROOT })).rejects.toMatchObject({ code: 2 })
  })
})
