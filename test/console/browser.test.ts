/**
 * The console and the API docs in a real browser (headless Chromium): the playground's
 * streamed reply, the status view for an admin and its 403 for everyone else, and
 * `/v1/docs` rendering with every request to the outside aborted.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import type { Runtime } from '../../core/app.ts'
import { createMemoryCache } from '../../core/defaults/memory-cache.ts'
import type { ScalePlugin } from '../../core/plugins/contract.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { describeWith } from '../helpers/services.ts'
import { OUTPUT, chromiumMissing, launchBrowser, type Browser } from './browser.ts'

/** A plugin filling one slot, to see a plugin's name, version and own figures on the page. */
const cachePlugin: ScalePlugin = {
  manifest: { name: 'test-cache', version: '2.3.4', core: '^0.1.0', provides: ['cache'] },
  setup: () => ({ slots: { cache: createMemoryCache() } }),
}

/** Starting Chromium and a runtime takes long on a loaded machine; these bound a hang, not the speed. */
const BROWSER_TIMEOUT = 180_000

describeWith('console in Chromium', chromiumMissing, () => {
  let rt: Runtime
  let base: string
  let browser: Browser

  beforeAll(async () => {
    rt = await startRuntime({ llm: { fakeTokenDelay: '5 ms' }, plugins: [cachePlugin] })
    base = `http://127.0.0.1:${(await rt.listen()).port}`
    browser = await launchBrowser()
  }, BROWSER_TIMEOUT)
  afterAll(async () => {
    await browser?.close()
    await rt?.stop()
  }, BROWSER_TIMEOUT)

  /** Save the page for the README, check nothing went outside, close it. */
  async function done(page: Page, name: string) {
    await page.screenshot({ path: join(OUTPUT, `${name}.png`) })
    expect(browser.outside).toEqual([])
    await page.close()
  }

  async function register(page: Page, email: string, action: 'register' | 'login' = 'register') {
    await page.getByTestId('email').fill(email)
    await page.getByTestId('password').fill('correct horse battery')
    await page.getByTestId(action).click()
    await page.getByTestId('who').filter({ hasText: email }).waitFor()
  }

  test(
    'playground: register, create a conversation, send, and the whole reply streams in',
    async () => {
      const page = await browser.context.newPage()
      await page.goto(`${base}/console#playground`)
      const email = `play-${crypto.randomUUID().slice(0, 8)}@example.com`
      await register(page, email)
      await page.getByTestId('stream-state').filter({ hasText: 'connected' }).waitFor()
      await page.getByTestId('conversation-title').fill('from the browser')
      await page.getByTestId('new-conversation').click()
      await page.getByTestId('conversation').filter({ hasText: 'from the browser' }).waitFor()
      const content = 'Hello from a real browser, one token at a time'
      await page.getByTestId('message-input').fill(content)
      // Count the reply's updates on the page: a reply shown at once would be one.
      await page.evaluate(() => {
        const w = window as unknown as { updates: number }
        w.updates = 0
        new MutationObserver(() => w.updates++).observe(document.querySelector('[data-testid="reply"]')!, {
          childList: true,
          characterData: true,
          subtree: true,
        })
      })
      await page.getByTestId('send').click()
      await page.getByTestId('stream-state').filter({ hasText: 'done' }).waitFor({ timeout: 60_000 })

      // The reply on the page is the stored assistant message, whole, and the job's figures are shown.
      const jobId = await page.getByTestId('job-id').innerText()
      expect(jobId).toMatch(/^[0-9a-f-]{36}$/)
      const job = await rt.app.handle(
        new Request(`${base}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${await token(page)}` } }),
      )
      const { messageId, status } = (await job.json()) as { messageId: string; status: string }
      expect(status).toBe('done')
      const reply = await page.getByTestId('reply').innerText()
      const stored = await storedMessage(page, messageId)
      expect(reply).toBe(stored)
      expect(reply).toContain('one token at a time')
      const seq = Number(await page.getByTestId('seq').innerText())
      expect(seq).toBeGreaterThan(reply.split(' ').length / 2)
      expect(await page.getByTestId('usage').innerText()).toMatch(/^\d+ in, \d+ out$/)
      // One update per delta frame, unless the browser folds frames that arrive together.
      expect(await page.evaluate(() => (window as unknown as { updates: number }).updates)).toBeGreaterThanOrEqual((seq - 1) / 2)
      await page.getByTestId('messages').filter({ hasText: content }).waitFor()
      await done(page, 'console-playground')
    },
    BROWSER_TIMEOUT,
  )

  test(
    'status: a non-admin sees 403; an admin sees each slot and a request count that rises',
    async () => {
      const page = await browser.context.newPage()
      await page.goto(`${base}/console#status`)
      const email = `ops-${crypto.randomUUID().slice(0, 8)}@example.com`
      await register(page, email)
      await expect(page.getByTestId('forbidden').innerText()).resolves.toContain('403')

      await rt.deps.users.setRole(email, 'admin')
      await page.reload()
      await page.getByTestId('backend-session').waitFor()
      for (const slot of ['session', 'rateLimit', 'dbPool', 'llmDispatch', 'dbRouter']) {
        expect(await page.getByTestId(`backend-${slot}`).innerText()).toBe('default')
      }
      expect(await page.getByTestId('backend-cache').innerText()).toBe('test-cache')
      const cacheRow = await page.getByTestId('slot-cache').innerText()
      expect(cacheRow).toContain('2.3.4')
      expect(cacheRow).toContain('hits')
      expect(await page.getByTestId('instances').innerText()).toBe('1, embedded')

      const before = Number(await page.getByTestId('requests-total').innerText())
      const auth = { authorization: `Bearer ${await token(page)}` }
      for (let i = 0; i < 10; i++) await fetch(`${base}/v1/me`, { headers: auth })
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid="requests-total"]')?.textContent) >= n, before + 10, {
        timeout: 60_000,
      })
      await page.getByTestId('chart-rps').waitFor()
      await done(page, 'console-status')
    },
    BROWSER_TIMEOUT,
  )

  test(
    '/v1/docs renders its operations with the outside network blocked, and asks for nothing outside',
    async () => {
      const page = await browser.context.newPage()
      const failed: string[] = []
      page.on('requestfailed', (r) => failed.push(r.url()))
      await page.goto(`${base}/v1/docs`)
      await page.getByText('Create an account').first().waitFor({ timeout: 60_000 })
      // Other tags start folded in the sidebar: open two and find their operations.
      for (const [tag, summary] of [
        ['conversations', 'List conversations, newest first'],
        ['chat', 'Send a message'],
      ]) {
        await page.getByRole('button', { name: tag }).first().click()
        await page.getByText(summary!).first().waitFor({ timeout: 60_000 })
      }
      expect(failed).toEqual([])
      await done(page, 'docs')
    },
    BROWSER_TIMEOUT,
  )
})

const token = (page: Page) => page.evaluate(() => sessionStorage.getItem('scale-console-token') as string)

async function storedMessage(page: Page, id: string): Promise<string> {
  return page.evaluate(async (id) => {
    const t = sessionStorage.getItem('scale-console-token')
    const convs = await (await fetch('/v1/conversations', { headers: { authorization: `Bearer ${t}` } })).json()
    const msgs = await (
      await fetch(`/v1/conversations/${convs.items[0].id}/messages`, { headers: { authorization: `Bearer ${t}` } })
    ).json()
    return msgs.items.find((m: { id: string }) => m.id === id).content as string
  }, id)
}
