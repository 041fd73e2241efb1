/**
 * `/console`: the status view and the playground, a page and its bundle built from
 * `console/` by the runtime's bundler on first request (kept in memory from then on).
 * Nothing is loaded from anywhere but this server; the Content-Security-Policy says so.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Elysia } from 'elysia'
import { ScaleError } from '../errors.ts'
import type { BundledFile, RuntimeAdapter } from '../runtime/adapter.ts'

const root = (file: string) => fileURLToPath(new URL(`../../console/${file}`, import.meta.url))

/** Only this server: scripts, styles, fetches and the WebSocket. */
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"

export function consoleRoutes(runtime: RuntimeAdapter) {
  let files: Promise<Map<string, BundledFile>> | undefined

  function load(): Promise<Map<string, BundledFile>> {
    files ??= (async () => {
      if (!runtime.bundle) throw new ScaleError('UNAVAILABLE', `the console needs a bundler; the ${runtime.name} runtime has none`)
      const [html, bundle] = await Promise.all([readFile(root('index.html'), 'utf8'), runtime.bundle(root('main.ts'))])
      const map = new Map(bundle.map((f) => [f.name, f]))
      map.set('index.html', { name: 'index.html', type: 'text/html; charset=utf-8', body: html })
      return map
    })()
    // A failed build is retried on the next request rather than kept.
    files.catch(() => (files = undefined))
    return files
  }

  async function serve(name: string): Promise<Response> {
    const file = (await load()).get(name)
    if (!file) throw new ScaleError('NOT_FOUND', `no console file ${name}`)
    return new Response(file.body, {
      headers: {
        'content-type': file.type,
        'content-security-policy': CSP,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      },
    })
  }

  const hide = { detail: { hide: true } }
  return new Elysia({ name: 'routes-console' })
    .get('/console', () => serve('index.html'), hide)
    .get('/console/', () => serve('index.html'), hide)
    .get('/console/app.js', () => serve('app.js'), hide)
    .get('/console/app.css', () => serve('app.css'), hide)
}
