/** The JSON body hooks (core/http/body.ts): a refused body answers with its own error, and routes that take no body carry none of the hooks. */
import { describe, expect, test } from 'bun:test'
import { type AnyElysia, Elysia, t } from 'elysia'
import { jsonBodies, trimBodyHooks } from '../../core/http/body.ts'
import { errorHandler } from '../../core/http/errors.ts'
import { createLogger } from '../../core/observability/logger.ts'

const silent = createLogger('silent')

function app() {
  const a = new Elysia()
    .use(errorHandler(silent))
    .use(jsonBodies({ bodyLimit: 64 }))
    .get('/read', () => ({ ok: true }))
    .post('/schema', ({ body }) => ({ got: body }), { body: t.Object({ n: t.Number() }) })
    .post('/free', ({ body }) => ({ got: body ?? null }))
  trimBodyHooks(a)
  return a
}

const hookCount = (a: AnyElysia, method: string, path: string) => {
  const route = a.routes.find((r) => r.method === method && r.path === path)!
  const hooks = route.hooks as { transform?: unknown[]; beforeHandle?: unknown[] }
  return (hooks.transform?.length ?? 0) + (hooks.beforeHandle?.length ?? 0)
}

const post = (a: AnyElysia, path: string, body: string, type = 'application/json') =>
  a.handle(new Request(`http://127.0.0.1:8080${path}`, { method: 'POST', headers: { 'content-type': type }, body }))

describe('json bodies', () => {
  test('routes whose method has no body lose the two hooks after the parser; the others keep them', () => {
    const a = app()
    expect(hookCount(a, 'GET', '/read')).toBe(0)
    expect(hookCount(a, 'POST', '/schema')).toBe(2)
    expect(hookCount(a, 'POST', '/free')).toBe(2)
  })

  test('a refused body answers with its own error, on a route with a body schema and on one without', async () => {
    const a = app()
    for (const path of ['/schema', '/free']) {
      const tooLarge = await post(a, path, JSON.stringify({ n: 1, pad: 'x'.repeat(100) }))
      expect(tooLarge.status).toBe(413)
      expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE')

      const wrongType = await post(a, path, 'n=1', 'application/x-www-form-urlencoded')
      expect(wrongType.status).toBe(415)
      expect(((await wrongType.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
  })

  test('an accepted body reaches the handler; an empty one is undefined', async () => {
    const a = app()
    expect(await (await post(a, '/schema', '{"n":2}')).json()).toEqual({ got: { n: 2 } })
    expect(await (await post(a, '/free', '')).json()).toEqual({ got: null })
    expect(await (await a.handle(new Request('http://127.0.0.1:8080/read'))).json()).toEqual({ ok: true })
  })
})
