/** Regression tests for hostile request bodies, cursors and headers: bounded cost, 4xx in the error shape, never a 500. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Runtime } from '../../core/app.ts'
import { client, describeEachDatabase, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
/** About `bytes` of JSON: `{"<field>": [[…[0,0,…]…]]}` nested `depth` deep; it fails every schema of ours. */
const wide = (field: string, depth: number, bytes: number) =>
  `{"${field}":${'['.repeat(depth)}${Array(Math.floor(bytes / 2)).fill(0).join(',')}${']'.repeat(depth)}}`

const expectError = (r: { status: number; body: any }, status: number, code: string) => {
  expect(r.status).toBe(status)
  expect(r.body).toEqual({ error: { code, message: expect.any(String) } })
}

describeEachDatabase(
  'hostile input',
  (rt) => {
    const api = client(rt)
    let user: { token: string; id: string }
    let conv: string
    beforeAll(async () => {
      user = await api.user()
      conv = (await api.post('/v1/conversations', { title: 'target' }, user.token)).body.id
    }, HOOK_TIMEOUT)
    const raw = (method: string, path: string, body: string, token?: string, contentType = 'application/json') =>
      api.call(method, path, { raw: body, token, headers: { 'content-type': contentType } })
    const bodyRoutes = () => [
      ['POST', '/v1/auth/register', undefined],
      ['POST', '/v1/auth/login', undefined],
      ['POST', '/v1/conversations', user.token],
      ['PATCH', `/v1/conversations/${conv}`, user.token],
      ['POST', `/v1/conversations/${conv}/messages`, user.token],
    ] as const

    test('a body nested 20,000 deep is a fast 400 on every route that takes a body, while /health/live answers', async () => {
      for (const [method, path, token] of bodyRoutes()) {
        const started = performance.now()
        const [r, live] = await Promise.all([raw(method, path, deep(20_000), token), api.get('/health/live')])
        // Before the fix: 4-8 s for this one request, the process blocked all along.
        expect(performance.now() - started).toBeLessThan(1000)
        expectError(r, 400, 'VALIDATION_FAILED')
        expect(r.body.error.message).toContain('nested deeper')
        expect(live.status).toBe(200)
      }
    })

    test('a 1 MB body that fails validation costs a bounded time, and its value is not quoted back', async () => {
      for (const [method, path, token] of bodyRoutes()) {
        const body = wide('title', 16, 1_000_000)
        const started = performance.now()
        const r = await raw(method, path, body, token)
        // Before the fix: the error message pretty-printed the whole value (1.5-2 s here).
        expect(performance.now() - started).toBeLessThan(1000)
        expectError(r, 400, 'VALIDATION_FAILED')
        expect(r.body.error.message.length).toBeLessThan(300)
      }
    })

    test('malformed JSON is a 400 on every route that takes a body, and creates nothing', async () => {
      const before = (await api.get('/v1/conversations?limit=100', user.token)).body.items.length
      for (const [method, path, token] of bodyRoutes()) {
        for (const body of ['{"title": ', '{"content": "x",}', 'nul', '{"a":1}{']) {
          expectError(await raw(method, path, body, token), 400, 'VALIDATION_FAILED')
        }
      }
      expect((await api.get('/v1/conversations?limit=100', user.token)).body.items.length).toBe(before)
    })

    test('a body that is not JSON is a 415; an empty body is no body', async () => {
      expectError(await raw('POST', '/v1/conversations', 'title=x', user.token, 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE')
      expectError(await raw('POST', '/v1/conversations', '{}', user.token, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE')
      expect((await raw('POST', '/v1/conversations', '', user.token)).status).toBe(201)
      expectError(await raw('PATCH', `/v1/conversations/${conv}`, '', user.token), 400, 'VALIDATION_FAILED')
    })

    test('a NUL character in a title or message content is a 400 and stores nothing', async () => {
      const nul = 'a\u0000b'
      expectError(await api.post('/v1/conversations', { title: nul }, user.token), 400, 'VALIDATION_FAILED')
      expectError(await api.patch(`/v1/conversations/${conv}`, { title: nul }, user.token), 400, 'VALIDATION_FAILED')
      expectError(await api.post(`/v1/conversations/${conv}/messages`, { content: nul }, user.token), 400, 'VALIDATION_FAILED')
      expect((await api.get(`/v1/conversations/${conv}`, user.token)).body.title).toBe('target')
      expect((await api.get(`/v1/conversations/${conv}/messages`, user.token)).body.items).toEqual([])
      // An escaped backslash before "u0000" is not a NUL.
      const fine = await raw('POST', '/v1/conversations', '{"title":"a\\\\u0000b"}', user.token)
      expect(fine.status).toBe(201)
      expect(fine.body.title).toBe('a\\u0000b')
    })

    test('crafted cursors are 400s on sync and on both lists, never 500s', async () => {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
      const sync = [['0', 1.5], ['0', -1], ['0', 1e300], ['1e5', 1], ['99999999999999999999999', 1], ['0', '1'], [0, 1], ['0'], {}, 'x']
      for (const c of sync) expectError(await api.get(`/v1/sync?cursor=${b64(c)}`, user.token), 400, 'VALIDATION_FAILED')
      expectError(await api.get('/v1/sync?cursor=WyIwIiwxLjVd', user.token), 400, 'VALIDATION_FAILED')
      const list = [['not a date', crypto.randomUUID()], [new Date().toISOString(), 'not-a-uuid'], [1, 2], ['2026-13-45T99:99:99.000Z', crypto.randomUUID()]]
      for (const c of list) expectError(await api.get(`/v1/conversations?cursor=${b64(c)}`, user.token), 400, 'VALIDATION_FAILED')
      for (const c of [[1.5], [-1], ['1'], [2 ** 63]]) {
        expectError(await api.get(`/v1/conversations/${conv}/messages?cursor=${b64(c)}`, user.token), 400, 'VALIDATION_FAILED')
      }
    })

    test('a 400 on register or login never quotes the password back', async () => {
      const passwords = ['short', 'x'.repeat(300), '']
      for (const path of ['/v1/auth/register', '/v1/auth/login']) {
        for (const password of passwords) {
          const r = await api.post(path, { email: 'someone@example.com', password })
          expectError(r, 400, 'VALIDATION_FAILED')
          expect(r.body.error.message).toContain('password')
          if (password) expect(r.body.error.message).not.toContain(password.slice(0, 5))
        }
      }
    })
  },
  { anonymous: { requestsPerMinute: 1000 } },
)

describeEachDatabase(
  'refused requests count against the limit',
  (rt) => {
    const api = client(rt)

    test('malformed and invalid logins use up the per-address limit', async () => {
      const bad = ['{"email": ', deep(100), '{"email":"a@example.com","password":"short"}', '{"email":"a@example.com"}']
      for (const body of bad) {
        const r = await api.call('POST', '/v1/auth/login', { raw: body, headers: { 'content-type': 'application/json' } })
        expect(r.status).toBe(400)
      }
      const fifth = await api.post('/v1/auth/login', { email: 'a@example.com', password: 'long enough password' })
      expect(fifth.status).toBe(429)
      expect(fifth.body.error.code).toBe('RATE_LIMITED')
    })

    test("a user's refused requests use up their group's limit", async () => {
      const user = await rt().deps.users.register(`r${crypto.randomUUID().slice(0, 8)}@example.com`, 'long enough password')
      const token = await rt().deps.tokens.issue(user.id, user.tier)
      expect((await api.get('/v1/conversations?limit=0', token)).status).toBe(400)
      expect((await api.get('/v1/conversations/not-a-uuid', token)).status).toBe(400)
      expect((await api.call('POST', '/v1/conversations', { raw: '{"title": ', token, headers: { 'content-type': 'application/json' } })).status).toBe(400)
      expect((await api.call('POST', '/v1/conversations', { raw: deep(5000), token, headers: { 'content-type': 'application/json' } })).status).toBe(400)
      const fifth = await api.get('/v1/conversations', token)
      expect(fifth.status).toBe(429)
      expect((await api.get('/v1/sync?cursor=WyIwIiwxLjVd', token)).status).toBe(400)
      expect((await api.get('/v1/sync', token)).status).toBe(429)
    })
  },
  {
    anonymous: { requestsPerMinute: 4 },
    tiers: {
      free: { requestsPerMinute: { api: 4, sync: 1 }, chatPerMinute: 2, maxTokens: 100 },
      paid: { requestsPerMinute: { api: 4, sync: 1 }, chatPerMinute: 2, maxTokens: 100 },
    },
  },
)

describe('hostile input on a real port', () => {
  let rt: Runtime
  let base: string
  let token: string
  beforeAll(async () => {
    rt = await startRuntime({ server: { port: 0, hostname: '127.0.0.1', bodyLimit: 64 * 1024 } })
    base = `http://127.0.0.1:${(await rt.listen()).port}`
    const user = await rt.deps.users.register(`p${crypto.randomUUID().slice(0, 8)}@example.com`, 'long enough password')
    token = await rt.deps.tokens.issue(user.id, user.tier)
  }, HOOK_TIMEOUT)
  afterAll(() => rt?.stop(), HOOK_TIMEOUT)

  const json = async (res: Response) => ({ status: res.status, body: await res.json().catch(() => undefined) })

  test('a body over the limit with Content-Length gets the JSON 413, on the API and on the gateway', async () => {
    const body = JSON.stringify({ title: 'x'.repeat(100 * 1024) })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const r = await json(await fetch(`${base}/v1/conversations`, { method: 'POST', headers, body }))
    expectError(r, 413, 'PAYLOAD_TOO_LARGE')
    const g = await json(await fetch(`${base}/v1/messages`, { method: 'POST', headers, body }))
    expect(g.status).toBe(413)
    expect(g.body.type).toBe('error')
  })

  test('a chunked body over the limit gets the JSON 413 too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ === 0) c.enqueue(new TextEncoder().encode('{"title":"'))
        else if (sent > 12) c.close()
        else c.enqueue(chunk)
      },
    })
    const res = await fetch(`${base}/v1/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    expectError(await json(res), 413, 'PAYLOAD_TOO_LARGE')
  })

  test('gateway: max_tokens as a string ("-5", "0", " ", "10") is refused like a number', async () => {
    for (const max_tokens of ['-5', '0', ' ', '10', -5]) {
      const res = await fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', max_tokens, messages: [{ role: 'user', content: 'hi' }] }),
      })
      const r = await json(res)
      expect(r.status).toBe(400)
      expect(r.body.error.type).toBe('invalid_request_error')
      expect(r.body.error.message).toContain('max_tokens')
      expect(res.headers.get('x-scale-max-tokens')).toBeNull()
    }
  })

  test('a 64 KB Authorization header gets a JSON 431', async () => {
    const res = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${'a'.repeat(64 * 1024)}` } })
    expectError(await json(res), 431, 'HEADERS_TOO_LARGE')
  })
})
