import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Runtime } from '../../core/app.ts'
import type { ScaleConfig } from '../../core/config/define.ts'
import { registerFrom } from '../helpers/remote.ts'
import { client, describeEachDatabase, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

const tiers: ScaleConfig['tiers'] = {
  free: { requestsPerMinute: { api: 5, sync: 2 }, chatPerMinute: 2, maxTokens: 100 },
  paid: { requestsPerMinute: { api: 12, sync: 4 }, chatPerMinute: 4, maxTokens: 200 },
}

describeEachDatabase(
  'rate limits by tier and route group',
  (rt) => {
    const api = client(rt)

    test('the 6th api request of a free user in a minute is a 429 with Retry-After and RateLimit headers', async () => {
      const { token } = await api.user()
      for (let i = 0; i < 5; i++) {
        const r = await api.get('/v1/conversations', token)
        expect(r.status).toBe(200)
        expect(r.headers.get('ratelimit-limit')).toBe('5')
        expect(r.headers.get('ratelimit-remaining')).toBe(String(4 - i))
      }
      const over = await api.get('/v1/conversations', token)
      expect(over.status).toBe(429)
      expect(over.body.error.code).toBe('RATE_LIMITED')
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
      // The sliding-window counter weighs the previous fixed window, so a burst can keep
      // counting into the next window: the wait is at most two windows.
      expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(120)
      expect(over.headers.get('ratelimit-remaining')).toBe('0')
      // Groups are separate: sync still has its own budget.
      expect((await api.get('/v1/sync', token)).status).toBe(200)
    })

    test('users are limited separately, and paid users get the paid table', async () => {
      const a = await api.user()
      const b = await api.user()
      for (let i = 0; i < 5; i++) await api.get('/v1/me', a.token)
      expect((await api.get('/v1/me', a.token)).status).toBe(429)
      expect((await api.get('/v1/me', b.token)).status).toBe(200)

      await rt().deps.users.setTier(b.email, 'paid')
      const paid = await api.post('/v1/auth/login', { email: b.email, password: 'correct horse battery' })
      expect(paid.body.user.tier).toBe('paid')
      const r = await api.get('/v1/me', paid.body.token)
      expect(r.headers.get('ratelimit-limit')).toBe('12')
    })

    test('health, metrics and the OpenAPI document are never limited', async () => {
      for (let i = 0; i < 30; i++) {
        expect((await api.get('/health/live')).status).toBe(200)
        expect((await api.get('/metrics')).status).toBe(200)
      }
      expect((await api.get('/v1/openapi.json')).status).toBe(200)
    })
  },
  { tiers, anonymous: { requestsPerMinute: 1000 } },
)

for (const hops of [0, 1]) {
  describe(`anonymous limit per client address, ${hops} trusted proxy hop(s)`, () => {
    let rt: Runtime
    let base: string
    beforeAll(async () => {
      rt = await startRuntime({ anonymous: { requestsPerMinute: 3 }, server: { port: 0, hostname: '127.0.0.1', trustedProxyHops: hops } })
      base = `http://127.0.0.1:${(await rt.listen()).port}`
    }, HOOK_TIMEOUT)
    afterAll(() => rt.stop(), HOOK_TIMEOUT)

    test(
      hops === 0
        ? 'X-Forwarded-For is ignored: random values do not get around the limit'
        : 'the right-most untrusted X-Forwarded-For address is the key',
      async () => {
        const random = () => `10.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}.7`
        const statuses: number[] = []
        for (let i = 0; i < 6; i++) statuses.push(await registerFrom(base, `${random()}, ${random()}`))
        if (hops === 0) {
          expect(statuses.filter((s) => s === 201)).toHaveLength(3)
          expect(statuses.slice(3)).toEqual([429, 429, 429])
        } else {
          // Each request has a different right-most address, so none is limited...
          expect(statuses).toEqual([201, 201, 201, 201, 201, 201])
          // ...while a fixed right-most address is, whatever the client puts to its left.
          const fixed: number[] = []
          for (let i = 0; i < 4; i++) fixed.push(await registerFrom(base, `${random()}, 192.0.2.1`))
          expect(fixed).toEqual([201, 201, 201, 429])
        }
      },
    )
  })
}
