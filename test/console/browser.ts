/**
 * Headless Chromium for the console tests: Debian's `chromium` driven by playwright-core,
 * a fresh profile per launch, and every request to anywhere but this machine aborted and
 * recorded, so a test can assert that none was attempted.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run, or undefined when they can. */
export const chromiumMissing = existsSync(CHROMIUM)
  ? undefined
  : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`

/** Screenshots go here (gitignored); the README's copies are in docs/. */
export const OUTPUT = join(import.meta.dir, '../../test-output/console')

export interface Browser {
  context: BrowserContext
  /** URLs of requests to other hosts: each aborted, or stopped by the page's Content-Security-Policy. */
  outside: string[]
  close(): Promise<void>
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]'])

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const profile = await mkdtemp(join(tmpdir(), 'scale-console-chromium-'))
  await mkdir(OUTPUT, { recursive: true })
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  const outside: string[] = []
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOCAL.has(url.hostname)) {
      outside.push(url.href)
      return route.abort('blockedbyclient')
    }
    return route.continue()
  })
  // A request the page's Content-Security-Policy stops never reaches the router: count those too.
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => console.warn(`csp-blocked ${e.violatedDirective} ${e.blockedURI}`)),
  )
  context.on('console', (m) => {
    const [, , uri] = /^csp-blocked (\S+) (\S+)/.exec(m.text()) ?? []
    if (uri && /^(https?|wss?):/.test(uri) && !LOCAL.has(new URL(uri).hostname)) outside.push(uri)
  })
  return {
    context,
    outside,
    async close() {
      await context.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    },
  }
}
