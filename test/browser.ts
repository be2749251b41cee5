import { spawnSync } from 'node:child_process'
import Chromium from '@sparticuz/chromium'
import { type Browser, chromium } from 'playwright-core'

/** Flags for a headless browser in a sandbox-less test machine, talking to nothing outside. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Which Chromium the browser tests run: CHROMIUM_PATH if set; else the build inside the
 * `@sparticuz/chromium` npm package (unpacked to /tmp on first use, nothing downloaded),
 * so `npm install && npx bun run test` needs nothing else; else a `chromium` on PATH.
 */
export async function chromiumPath(): Promise<string> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH
  try {
    Chromium.setGraphicsMode = false
    return await Chromium.executablePath()
  } catch (err) {
    const system = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim()
    if (system) return system
    throw new Error(
      `no Chromium: the @sparticuz/chromium package could not unpack (${(err as Error).message}) and none is on PATH; set CHROMIUM_PATH`,
    )
  }
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumPath(), args: ARGS, headless: true })
}
