#!/usr/bin/env bun
/**
 * Screenshots of the live page at a desktop and a phone width, with the headless Chromium
 * the browser tests use (test/browser.ts), for the docs and for reviews of the page:
 *
 *   npx bun scripts/screenshots.ts --url http://127.0.0.1:<port>/live/<id> --out docs/screenshots/<name> [--contest <id>]
 *
 * writes <name>-desktop.png (1280×900) and <name>-phone.png (390×844), the whole page unless
 * --fold (the first screen only). With --contest the contest is chosen in the page's picker
 * first, as a reader would. It waits for the first snapshot, the contest's results and the
 * regions' map, and needs a running API (`bun run stack up`, or `bun run simulate`).
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../test/browser.ts'

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 900, mobile: false },
  { name: 'phone', width: 390, height: 844, mobile: true },
] as const

const USAGE = `usage: npx bun scripts/screenshots.ts --url <live page URL> --out <path prefix> [--contest <id>] [--fold] [--scale 1] [--timeout 30000]
  --url      the live page, e.g. http://127.0.0.1:3000/live/<election id>
  --out      where to write: <out>-desktop.png and <out>-phone.png (folders are created)
  --contest  choose this contest in the picker first (an election with contests)
  --fold     the first screen only, not the whole page
  --scale    device pixels per CSS pixel (2 for sharper images)
  --timeout  ms to wait for the page to show its results`

function options() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      out: { type: 'string' },
      contest: { type: 'string' },
      fold: { type: 'boolean', default: false },
      scale: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '30000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  if (!values.url || !values.out) {
    console.error(USAGE)
    process.exit(2)
  }
  const scale = Number(values.scale)
  const timeout = Number(values.timeout)
  if (!(scale > 0 && scale <= 4) || !(timeout > 0)) {
    console.error(`--scale must lie in (0, 4] and --timeout be positive\n${USAGE}`)
    process.exit(2)
  }
  let url: URL
  try {
    url = new URL(values.url)
  } catch {
    console.error(`--url ${values.url} is not a URL\n${USAGE}`)
    process.exit(2)
  }
  return { url, out: resolve(values.out.replace(/\.png$/i, '')), contest: values.contest, fold: values.fold, scale, timeout }
}

/** Opens the page and waits until it shows what a reader would see: results, contest, map. */
async function show(page: Page, url: URL, contest: string | undefined, timeout: number) {
  // The page asks for the election's contests once, on load: the answer says what to wait for.
  const contestsAnswer = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/contests'), { timeout })
  // Awaited below; until then a failed navigation must not leave its rejection unhandled.
  void contestsAnswer.catch(() => undefined)
  const response = await page.goto(url.href, { waitUntil: 'domcontentloaded', timeout })
  if (!response?.ok()) throw new Error(`${url.href} answered ${response?.status() ?? 'nothing'}`)
  await page.waitForFunction(() => (document.getElementById('counted')?.textContent ?? '–') !== '–', undefined, { timeout })
  const answer = await contestsAnswer
  const listed = answer.ok() ? (((await answer.json()) as { contests?: Array<{ id: string }> }).contests ?? []) : []
  if (contest !== undefined) {
    if (!listed.some((k) => k.id === contest))
      throw new Error(
        listed.length === 0
          ? 'this election has no contests: leave out --contest'
          : `no contest ${contest}; the first are: ${listed
              .slice(0, 10)
              .map((k) => k.id)
              .join(', ')}`,
      )
    await page.waitForSelector('#contestSection:not([hidden])', { timeout })
    await page.selectOption('#contest', contest, { timeout })
  }
  if (listed.length > 0) {
    const expected = contest ?? null
    await page.waitForFunction(
      (id) => {
        const shown = document.querySelector('#contestResults [data-contest]')?.getAttribute('data-contest')
        return shown !== undefined && shown !== null && (id === null || shown === id)
      },
      expected,
      { timeout },
    )
  }
  // Past 500 regions the map reads them a page at a time.
  await page.waitForFunction(() => !(document.getElementById('mapNote')?.textContent ?? '').startsWith('Loading'), undefined, { timeout })
  // Bars grow with a .4 s transition.
  await page.waitForTimeout(800)
}

async function main() {
  const o = options()
  mkdirSync(dirname(o.out), { recursive: true })
  let browser: Browser | undefined
  try {
    browser = await launchBrowser()
    for (const v of VIEWPORTS) {
      const context = await browser.newContext({
        viewport: { width: v.width, height: v.height },
        deviceScaleFactor: o.scale,
        isMobile: v.mobile,
        hasTouch: v.mobile,
      })
      try {
        const page = await context.newPage()
        const errors: string[] = []
        page.on('pageerror', (err) => errors.push(err.message))
        await show(page, o.url, o.contest, o.timeout)
        const path = `${o.out}-${v.name}.png`
        await page.screenshot({ path, fullPage: !o.fold })
        console.log(`${path} (${v.width}×${v.height}${o.contest ? `, contest ${o.contest}` : ''})`)
        if (errors.length > 0) console.warn(`the page reported errors at ${v.name} width:\n  ${errors.join('\n  ')}`)
      } finally {
        await context.close()
      }
    }
  } finally {
    await browser?.close()
  }
}

main().catch((err: unknown) => {
  console.error(`screenshots: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
