/**
 * `/v1/openapi.json` and `/v1/docs`: the OpenAPI document generated from the route schemas
 * (then finished, see finish.ts), and the Scalar viewer served from the installed npm
 * package, so the docs page loads nothing from outside this server.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { toOpenAPISchema } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { finishDocument } from './finish.ts'

export interface ApiDocsOptions {
  title: string
  version: string
  /** @default '/v1/openapi.json' */
  specPath?: string
  /** @default '/v1/docs' */
  docsPath?: string
}

const VIEWER = '@scalar/api-reference/browser/standalone.js'

/**
 * Scalar's options, each turning off something that would call out: web fonts (a CDN), the
 * "try it" client (a proxy), the AI agent (its registry, which it asks on localhost).
 */
const viewerConfig = {
  withDefaultFonts: false,
  hideClientButton: true,
  hideTestRequestButton: true,
  telemetry: false,
  agent: { disabled: true },
}

const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'"

/**
 * @example
 * app.use(apiDocs({ title: 'scale-runtime API', version: CORE_VERSION }))
 */
export function apiDocs(opts: ApiDocsOptions) {
  const specPath = opts.specPath ?? '/v1/openapi.json'
  const docsPath = opts.docsPath ?? '/v1/docs'
  const viewerPath = `${docsPath}/viewer.js`
  let cached: { routes: number; doc: object } | undefined
  let viewer: Promise<string> | undefined

  const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${opts.title}</title>
  </head>
  <body>
    <script id="api-reference" type="application/json" data-url="${specPath}" data-configuration='${JSON.stringify(viewerConfig)}'></script>
    <script src="${viewerPath}"></script>
  </body>
</html>`

  const app = new Elysia({ name: 'api-docs' })
  const hide = { detail: { hide: true } }
  return app
    .get(
      specPath,
      () => {
        // Routes are all mounted before the first request; rebuild only if more were added.
        const routes = app.routes.length
        if (cached?.routes !== routes) {
          const generated = toOpenAPISchema(app, undefined, undefined, undefined, '3.1.1')
          const raw = { openapi: '3.1.1', info: {}, ...generated }
          cached = { routes, doc: finishDocument(raw, { title: opts.title, version: opts.version }) }
        }
        return cached.doc
      },
      hide,
    )
    .get(
      docsPath,
      () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP } }),
      hide,
    )
    .get(
      viewerPath,
      async () => {
        viewer ??= readFile(fileURLToPath(import.meta.resolve(VIEWER)), 'utf8')
        viewer.catch(() => (viewer = undefined))
        return new Response(await viewer, {
          headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' },
        })
      },
      hide,
    )
}
