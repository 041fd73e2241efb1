/** The one auth-and-limit path (core/http/access.ts): where each channel finds its token, and how a charge reaches the limiter. */
import { describe, expect, test } from 'bun:test'
import { Counter, Registry } from 'prom-client'
import { resolveConfig } from '../../core/config/load.ts'
import { createMemoryRateLimiter } from '../../core/defaults/memory-rate-limiter.ts'
import { createAccess, socketProtocol } from '../../core/http/access.ts'
import type { ConsumeOptions, RateLimiter, RateLimitRule } from '../../core/ports/rate-limiter.ts'
import { createTokenService } from '../../core/services/tokens.ts'

const config = resolveConfig({
  tiers: {
    free: { requestsPerMinute: { api: 5, sync: 2 }, chatPerMinute: 2, maxTokens: 100 },
    paid: { requestsPerMinute: { api: 12, sync: 4 }, chatPerMinute: 4, maxTokens: 200 },
  },
  anonymous: { requestsPerMinute: 3 },
})
const tokens = createTokenService(config.auth, new TextEncoder().encode('x'.repeat(32)))

function setup() {
  const calls: { key: string; rule: RateLimitRule; options?: ConsumeOptions }[] = []
  const inner = createMemoryRateLimiter()
  const limiter: RateLimiter = {
    consume: (key, rule, options) => (calls.push({ key, rule, options }), inner.consume(key, rule, options)),
    reset: (key) => inner.reset(key),
  }
  const refused = new Counter({ name: 'rate_limited_total', help: 'h', labelNames: ['group'], registers: [new Registry()] })
  const access = createAccess({ config, tokens, limiter, refused, clientAddress: () => '192.0.2.9' })
  const count = async (group: string) => (await refused.get()).values.find((v) => v.labels.group === group)?.value ?? 0
  return { access, calls, count }
}

const req = (path: string, headers: Record<string, string> = {}) => new Request(`http://localhost${path}`, { headers })

describe('access: authenticate', () => {
  test('http takes a bearer header only; the gateway also x-api-key; a socket also ?token= and a subprotocol', async () => {
    const { access } = setup()
    const id = crypto.randomUUID()
    const token = await tokens.issue(id, 'free')
    expect((await access.authenticate(req('/v1/me', { authorization: `Bearer ${token}` }), 'http')).userId).toBe(id)
    await expect(access.authenticate(req('/v1/me', { 'x-api-key': token }), 'http')).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect((await access.authenticate(req('/v1/messages', { 'x-api-key': token }), 'gateway')).userId).toBe(id)
    expect((await access.authenticate(req('/v1/messages', { authorization: `Bearer ${token}` }), 'gateway')).userId).toBe(id)
    expect((await access.authenticate(req(`/v1/ws?token=${token}`), 'socket')).userId).toBe(id)
    const offered = req('/v1/ws', { 'sec-websocket-protocol': `bearer, ${token}` })
    expect((await access.authenticate(offered, 'socket')).userId).toBe(id)
    expect(socketProtocol(offered)).toBe('bearer')
    expect(socketProtocol(req('/v1/ws', { 'sec-websocket-protocol': token }))).toBe(token)
    expect(socketProtocol(req(`/v1/ws?token=${token}`))).toBeUndefined()
    await expect(access.authenticate(req('/v1/ws'), 'socket')).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    await expect(access.authenticate(req(`/v1/ws?token=${'a'.repeat(4097)}`), 'socket')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
  })
})

describe('access: charge', () => {
  test('the limiter gets the group and cost as data, under the tier table’s rule', async () => {
    const { access, calls } = setup()
    const free = { userId: crypto.randomUUID(), tier: 'free' as const, expiresAt: Date.now() + 60_000 }
    const paid = { ...free, userId: crypto.randomUUID(), tier: 'paid' as const }
    await access.charge(free, 'sync')
    await access.charge(paid, 'chat', 3)
    await access.chargeAddress(req('/v1/auth/login'))
    expect(calls).toEqual([
      { key: `u:${free.userId}:sync`, rule: { limit: 2, windowMs: 60_000 }, options: { group: 'sync', cost: 1 } },
      { key: `u:${paid.userId}:chat`, rule: { limit: 4, windowMs: 60_000 }, options: { group: 'chat', cost: 3 } },
      { key: 'ip:192.0.2.9', rule: { limit: 3, windowMs: 60_000 }, options: { group: 'anonymous', cost: 1 } },
    ])
  })

  test('a refusal is counted once in rate_limited_total{group}, an allowed call not at all', async () => {
    const { access, count } = setup()
    const user = { userId: crypto.randomUUID(), tier: 'free' as const, expiresAt: Date.now() + 60_000 }
    expect((await access.charge(user, 'chat')).allowed).toBe(true)
    expect((await access.charge(user, 'chat')).allowed).toBe(true)
    expect(await count('chat')).toBe(0)
    expect((await access.charge(user, 'chat')).allowed).toBe(false)
    expect((await access.charge(user, 'chat')).allowed).toBe(false)
    expect(await count('chat')).toBe(2)
    expect(await count('api')).toBe(0)
  })
})

describe('access: admitNow (the hot path, no I/O)', () => {
  const nowLimiter = () => {
    const inner = createMemoryRateLimiter()
    const limiter: RateLimiter = {
      consume: (key, rule, options) => inner.consume(key, rule, options),
      consumeNow: (key, rule, options) => inner.consumeNow!(key, rule, options),
      reset: (key) => inner.reset(key),
    }
    const refused = new Counter({ name: 'rate_limited_total', help: 'h', labelNames: ['group'], registers: [new Registry()] })
    return { limiter, refused }
  }

  test('a token never verified is left to authenticate; once verified, it is admitted now, with its charge taken and refusals counted', async () => {
    const { limiter, refused } = nowLimiter()
    let asked = 0
    const service = createTokenService(config.auth, new TextEncoder().encode('y'.repeat(32)), {
      isActive: async () => (asked++, true),
    })
    const access = createAccess({ config, tokens: service, limiter, refused })
    const id = crypto.randomUUID()
    const request = req('/v1/me', { authorization: `Bearer ${await service.issue(id, 'free')}` })
    expect(access.admitNow(request, 'http', 'sync')).toBeUndefined()
    const user = await access.authenticate(request, 'http')
    expect(asked).toBe(1)
    // Nothing was taken by the first try: the sync limit (2) is whole.
    expect(access.admitNow(request, 'http', 'sync')).toMatchObject({ user, decision: { allowed: true, remaining: 1 } })
    expect(access.admitNow(request, 'http', 'sync')?.decision).toMatchObject({ allowed: true, remaining: 0 })
    expect(access.admitNow(request, 'http', 'sync')?.decision?.allowed).toBe(false)
    expect((await refused.get()).values.find((v) => v.labels.group === 'sync')?.value).toBe(1)
    expect(asked).toBe(1)
  })

  test('a limiter without consumeNow: the user is known, the charge is left to charge(); a bad token or a disabled user: not known', async () => {
    const { access, calls } = setup()
    const id = crypto.randomUUID()
    const request = req('/v1/me', { authorization: `Bearer ${await tokens.issue(id, 'free')}` })
    await access.authenticate(request, 'http')
    const known = access.admitNow(request, 'http', 'api')
    expect(known?.user.userId).toBe(id)
    expect(known?.decision).toBeUndefined()
    expect(calls).toEqual([])

    const { limiter, refused } = nowLimiter()
    let active = true
    const service = createTokenService({ ...config.auth, revocationCheckMs: 0 }, new TextEncoder().encode('z'.repeat(32)), {
      isActive: async () => active,
    })
    const now = createAccess({ config, tokens: service, limiter, refused })
    expect(now.admitNow(req('/v1/me', { authorization: 'Bearer not-a-token' }), 'http', 'api')).toBeUndefined()
    const own = req('/v1/me', { authorization: `Bearer ${await service.issue(crypto.randomUUID(), 'free')}` })
    await now.authenticate(own, 'http')
    // The activity answer is older than revocationCheckMs (0): the full path asks again.
    expect(now.admitNow(own, 'http', 'api')).toBeUndefined()
    active = false
    await expect(now.authenticate(own, 'http')).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(now.admitNow(own, 'http', 'api')).toBeUndefined()
  })
})
