/**
 * Property-based fuzzing of every HTTP route's body, query, path and headers (fast-check,
 * seeded and bounded), on both databases: never a 5xx, every error in the contract's shape
 * (Anthropic's on the gateway), no request slower than a generous bound, and /health/live
 * answering alongside each one.
 */
import { beforeAll, expect, test } from 'bun:test'
import fc from 'fast-check'
import { client, describeEachDatabase, HOOK_TIMEOUT } from '../helpers/runtime.ts'

/** Generous: a fuzzed request costs milliseconds; the defects this guards against cost seconds. */
const BOUND_MS = 2000
const SEED = 20261201
const RUNS = 400

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
const HUGE = ['1e999', '-1e999', '123456789012345678901234567890', '1e-400', '-0', '9007199254740993', '0.5', '-1']

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', 'a\u0000b', '\ud800', '\udfff x', '%00', '../..', '${x}', '<script>', 'x'.repeat(40_000)),
)
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const cursor = fc.oneof(
  text,
  fc.jsonValue({ maxDepth: 2 }).map(b64),
  fc.tuple(fc.oneof(fc.string(), fc.constantFrom('0', '99999999999999999999999')), fc.oneof(fc.double(), fc.integer())).map(b64),
)
const number = fc.oneof(fc.constantFrom(...HUGE), fc.integer().map(String), fc.double().map(String))

/** Raw bodies: JSON values, shaped objects with hostile fields, malformed text, deep nesting, huge numbers. */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        email: text,
        password: text,
        title: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
        content: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
        model: text,
        max_tokens: fc.oneof(fc.integer(), text, fc.constant(null)),
        messages: fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'system', ''), content: fc.jsonValue({ maxDepth: 2 }) }), {
          maxLength: 3,
        }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 30, max: 40_000 }).map(deep),
  fc.constantFrom(...HUGE).map((n) => `{"title":${n},"content":${n},"max_tokens":${n},"limit":${n},"model":${n}}`),
  fc.constantFrom('{"title": ', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', 'null', '[]', '""', '{}{}', '\u0000'),
)
const query = fc
  .dictionary(fc.constantFrom('limit', 'cursor', 'afterSeq', 'x', '__proto__', 'limit[]'), fc.oneof(number, cursor, text), { maxKeys: 3 })
  .map((q) => {
    const s = new URLSearchParams(q as Record<string, string>).toString()
    return s ? `?${s}` : ''
  })
const headerValue = fc.stringMatching(/^[\x21-\x7e]{0,300}$/)

type Target = { conv: string; job: string; token: string }
type Route = { method: string; path: (id: string) => string; body?: boolean; query?: boolean; auth: boolean; gateway?: boolean }

const routes: Route[] = [
  { method: 'POST', path: () => '/v1/auth/register', body: true, auth: false },
  { method: 'POST', path: () => '/v1/auth/login', body: true, auth: false },
  { method: 'GET', path: () => '/v1/me', auth: true },
  { method: 'POST', path: () => '/v1/conversations', body: true, auth: true },
  { method: 'GET', path: () => '/v1/conversations', query: true, auth: true },
  { method: 'GET', path: (id) => `/v1/conversations/${id}`, auth: true },
  { method: 'PATCH', path: (id) => `/v1/conversations/${id}`, body: true, auth: true },
  { method: 'DELETE', path: (id) => `/v1/conversations/${id}`, auth: true },
  { method: 'GET', path: (id) => `/v1/conversations/${id}/messages`, query: true, auth: true },
  { method: 'POST', path: (id) => `/v1/conversations/${id}/messages`, body: true, auth: true },
  { method: 'GET', path: (id) => `/v1/jobs/${id}`, auth: true },
  { method: 'GET', path: (id) => `/v1/jobs/${id}/events`, query: true, auth: true },
  { method: 'POST', path: (id) => `/v1/jobs/${id}/cancel`, body: true, auth: true },
  { method: 'GET', path: () => '/v1/sync', query: true, auth: true },
  { method: 'POST', path: () => '/v1/messages', body: true, auth: true, gateway: true },
]

/** What one fuzzed request is made of; `id` picks the real conversation or job, or a hostile segment. */
const request = fc.record({
  route: fc.constantFrom(...routes),
  id: fc.oneof(
    fc.constantFrom('conv', 'job'),
    fc.uuid(),
    text.map((s) => encodeURIComponent(s.slice(0, 200).toWellFormed())),
    fc.constantFrom('%00', '..%2f..', '%E0%A4%A', 'x'.repeat(5000)),
  ),
  query,
  body,
  contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.x+json'),
  idempotencyKey: fc.option(headerValue),
  lastEventId: fc.option(headerValue),
})

describeEachDatabase(
  'fuzzed requests',
  (rt) => {
    const api = client(rt)
    const t: Target = { conv: '', job: '', token: '' }
    beforeAll(async () => {
      const user = await rt().deps.users.register(`fuzz-${crypto.randomUUID().slice(0, 8)}@example.com`, 'long enough password')
      t.token = await rt().deps.tokens.issue(user.id, user.tier)
      t.conv = (await api.post('/v1/conversations', { title: 'fuzz' }, t.token)).body.id
      t.job = (await api.post(`/v1/conversations/${t.conv}/messages`, { content: 'hello' }, t.token)).body.job.id
    }, HOOK_TIMEOUT)

    async function send(route: Route, path: string, opts: { body?: string; contentType?: string; headers?: Record<string, string> }) {
      const headers: Record<string, string> = { ...opts.headers }
      if (route.auth) headers[route.gateway ? 'x-api-key' : 'authorization'] = route.gateway ? t.token : `Bearer ${t.token}`
      if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json'
      const started = performance.now()
      const [res, live] = await Promise.all([
        rt().app.handle(new Request(`http://localhost${path}`, { method: route.method, headers, body: opts.body })),
        rt().app.handle(new Request('http://localhost/health/live')),
      ])
      const raw = await res.text()
      const ms = performance.now() - started
      return { status: res.status, raw, ms, live: live.status }
    }

    function check(route: Route, r: { status: number; raw: string; ms: number; live: number }, what: string) {
      const where = `${what} -> ${r.status} ${r.raw.slice(0, 200)}`
      expect(r.status, where).toBeLessThan(500)
      expect(r.ms, where).toBeLessThan(BOUND_MS)
      expect(r.live, where).toBe(200)
      if (r.status < 400) return
      const parsed = JSON.parse(r.raw)
      if (route.gateway) {
        expect(Object.keys(parsed).sort(), where).toEqual(['error', 'type'])
        expect(parsed.type).toBe('error')
        expect(Object.keys(parsed.error).sort(), where).toEqual(['message', 'type'])
        expect(typeof parsed.error.message).toBe('string')
      } else {
        expect(Object.keys(parsed), where).toEqual(['error'])
        expect(Object.keys(parsed.error).sort(), where).toEqual(['code', 'message'])
        expect(parsed.error.code, where).toMatch(/^[A-Z_]+$/)
        expect(typeof parsed.error.message).toBe('string')
      }
    }

    test(
      'every route, fuzzed: no 5xx, errors in the contract shape, bounded time, /health/live answering',
      async () => {
        await fc.assert(
          fc.asyncProperty(request, async (q) => {
            const id = q.id === 'conv' ? t.conv : q.id === 'job' ? t.job : q.id
            const path = q.route.path(id) + (q.route.query ? q.query : '')
            const headers: Record<string, string> = {}
            if (q.idempotencyKey !== null && q.idempotencyKey !== '') headers['idempotency-key'] = q.idempotencyKey
            if (q.lastEventId !== null) headers['last-event-id'] = q.lastEventId
            const r = await send(q.route, path, { body: q.route.body ? q.body : undefined, contentType: q.contentType, headers })
            check(q.route, r, `${q.route.method} ${path.slice(0, 120)} body ${q.route.body ? q.body.slice(0, 120) : '-'}`)
          }),
          { seed: SEED, numRuns: RUNS, endOnFailure: true },
        )
      },
      120_000,
    )

    test('each route: a body nested 40,000 deep, huge numbers in body and query', async () => {
      for (const route of routes) {
        const path = route.path(route.path('x').includes('jobs') ? t.job : t.conv)
        if (route.body) {
          check(route, await send(route, path, { body: deep(40_000) }), `${route.method} ${path} deep`)
          for (const n of HUGE) {
            const body = `{"title":${n},"content":${n},"email":${n},"password":${n},"model":${n},"max_tokens":${n},"messages":${n}}`
            check(route, await send(route, path, { body }), `${route.method} ${path} ${n}`)
          }
        }
        if (route.query) {
          for (const n of HUGE) {
            check(route, await send(route, `${path}?limit=${n}&afterSeq=${n}`, {}), `${route.method} ${path}?limit=${n}`)
          }
        }
      }
    })
  },
  {
    anonymous: { requestsPerMinute: 100_000 },
    llm: { fakeTokenDelay: 0 },
    tiers: {
      free: { requestsPerMinute: { api: 100_000, sync: 100_000 }, chatPerMinute: 100_000, maxTokens: 64 },
      paid: { requestsPerMinute: { api: 100_000, sync: 100_000 }, chatPerMinute: 100_000, maxTokens: 64 },
    },
  },
)
