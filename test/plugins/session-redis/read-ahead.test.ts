/**
 * Redis round trips of one request: counted as writes on the connection's socket (with
 * auto-pipelining, commands issued in one tick go out in one write and come back together).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Redis } from 'ioredis'
import { Counter, Registry } from 'prom-client'
import { resolveConfig } from '../../../core/config/load.ts'
import { createAccess } from '../../../core/http/access.ts'
import type { RedisClient } from '../../../core/types.ts'
import { createTokenService } from '../../../core/services/tokens.ts'
import { createRedisRateLimiter } from '../../../plugins/ratelimit-redis/index.ts'
import { createRedisSessionStore } from '../../../plugins/session-redis/index.ts'
import { describeWith, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { dropKeys, uniquePrefix } from '../../redis/redis.ts'

const prefix = uniquePrefix('roundtrips')
const config = resolveConfig({})
const tokens = createTokenService(config.auth, new TextEncoder().encode('x'.repeat(32)))

describeWith('Redis round trips per request [redis]', await redisMissing(), () => {
  let redis: Redis
  let writes = 0
  beforeAll(async () => {
    // As the core opens it (core/redis/connect.ts): auto-pipelined.
    redis = new Redis(REDIS_URL, { enableAutoPipelining: true, lazyConnect: true })
    await redis.connect()
    const stream = (redis as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream
    const write = stream.write.bind(stream)
    stream.write = (...a: unknown[]) => (writes++, write(...a))
  })
  afterAll(async () => {
    await dropKeys(redis, prefix)
    redis.disconnect()
  })

  /** Round trips of `n` requests that each charge the user's `group` and then read their session. */
  async function perRequest(opts: { readAhead: boolean; lease?: boolean; group?: 'api' | 'chat'; n?: number }) {
    const client = redis as unknown as RedisClient
    const session = createRedisSessionStore({ redis: client, keyPrefix: prefix, ttlMs: 60_000, readAhead: opts.readAhead })
    const limiter = createRedisRateLimiter({
      redis: client,
      keyPrefix: prefix,
      ...(opts.lease ? { lease: { groups: ['api'], batch: 100, ttl: '10 s' as const } } : {}),
    })
    const refused = new Counter({ name: 'rate_limited_total', help: 'h', labelNames: ['group'], registers: [new Registry()] })
    const access = createAccess({ config, tokens, limiter, refused, session })
    const user = { userId: crypto.randomUUID(), tier: 'paid' as const, expiresAt: Date.now() + 60_000 }
    await session.patch(user.userId, { wal: 1 })
    const n = opts.n ?? 20
    // Once first: loads the scripts (EVALSHA, then EVAL on a fresh server) outside the count.
    await access.charge(user, opts.group ?? 'api')
    await session.get(user.userId)
    const before = writes
    for (let i = 0; i < n; i++) {
      expect((await access.charge(user, opts.group ?? 'api')).allowed).toBe(true)
      expect(await session.get(user.userId)).toEqual({ wal: 1 })
    }
    await limiter.stop?.()
    return (writes - before) / n
  }

  test('exact limits: the rate-limit check and the session read share one round trip with readAhead, two without', async () => {
    expect(await perRequest({ readAhead: false })).toBe(2)
    expect(await perRequest({ readAhead: true })).toBe(1)
  })

  test('a session written in the request is read fresh, not from the read ahead', async () => {
    const client = redis as unknown as RedisClient
    const session = createRedisSessionStore({ redis: client, keyPrefix: prefix, ttlMs: 60_000, readAhead: true })
    const id = crypto.randomUUID()
    await session.patch(id, { a: 1 })
    session.prefetch!(id)
    await session.patch(id, { a: 2 })
    expect(await session.get(id)).toEqual({ a: 2 })
  })

  test('lease mode: the limit check makes no Redis call on most requests', async () => {
    // Only the session read is left per request; the lease is taken once.
    expect(await perRequest({ readAhead: false, lease: true, n: 50 })).toBe(1)
    const before = writes
    const client = redis as unknown as RedisClient
    const limiter = createRedisRateLimiter({ redis: client, keyPrefix: prefix, lease: { groups: ['api'], batch: 100, ttl: '10 s' } })
    const rule = { limit: 1000, windowMs: 60_000 }
    const key = `u:${crypto.randomUUID()}:api`
    for (let i = 0; i < 100; i++) await limiter.consume(key, rule, { group: 'api' })
    expect(writes - before).toBeLessThanOrEqual(2) // one lease (plus EVAL if the script was not loaded)
    await limiter.stop?.()
  })
})
