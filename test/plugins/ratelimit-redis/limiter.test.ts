/** ratelimit-redis beyond the conformance suite: the local denial cache, leases, keys and TTLs. */
import { expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import type { RedisClient } from '../../../core/types.ts'
import { createRedisRateLimiter } from '../../../plugins/ratelimit-redis/index.ts'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { keysUnder, keysWithoutTtl, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'
import { setTimeout as sleep } from 'node:timers/promises'

const prefix = uniquePrefix('limiter')

/** The connection, counting the scripts it runs. */
function counting(redis: Redis) {
  const counter = { scripts: 0 }
  const client = new Proxy(redis, {
    get(target, prop) {
      const v = Reflect.get(target, prop)
      if (prop === 'evalsha' || prop === 'eval') {
        return (...args: unknown[]) => {
          counter.scripts++
          return (v as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
      return typeof v === 'function' ? v.bind(target) : v
    },
  }) as unknown as RedisClient
  return { client, counter }
}

describeWith('ratelimit-redis [redis]', await redisMissing(), () => {
  const shared = useSharedRedis(prefix)

  test('a client over its limit is answered in process until its retry time, then asks Redis again', async () => {
    const { client, counter } = counting(shared.redis)
    const limiter = createRedisRateLimiter({ redis: client, keyPrefix: prefix })
    const rule = { limit: 3, windowMs: 400 }
    const key = `u:${crypto.randomUUID()}:api`
    const first = await Promise.all([1, 2, 3, 4].map(() => limiter.consume(key, rule)))
    expect(first.filter((d) => d.allowed)).toHaveLength(3)
    expect(counter.scripts).toBe(4)
    const denied = first.find((d) => !d.allowed)!
    for (let i = 0; i < 50; i++) {
      const d = await limiter.consume(key, rule)
      expect(d.allowed).toBe(false)
      expect(d.retryAfterMs).toBeGreaterThan(0)
      expect(d.retryAfterMs).toBeLessThanOrEqual(denied.retryAfterMs)
    }
    expect(counter.scripts).toBe(4)
    await sleep(denied.retryAfterMs + 20)
    expect((await limiter.consume(key, rule)).allowed).toBe(true)
    expect(counter.scripts).toBe(5)
    await limiter.stop?.()
  })

  test('the denial cache never answers for a rule it did not see, nor for a smaller cost', async () => {
    const { client, counter } = counting(shared.redis)
    const limiter = createRedisRateLimiter({ redis: client, keyPrefix: prefix })
    const key = `u:${crypto.randomUUID()}:api`
    expect((await limiter.consume(key, { limit: 5, windowMs: 60_000 }, { cost: 4 })).allowed).toBe(true)
    expect((await limiter.consume(key, { limit: 5, windowMs: 60_000 }, { cost: 3 })).allowed).toBe(false)
    expect((await limiter.consume(key, { limit: 5, windowMs: 60_000 }, { cost: 1 })).allowed).toBe(true)
    // A paid tier after a new login: the same key, a bigger limit, decided by Redis.
    expect((await limiter.consume(key, { limit: 50, windowMs: 60_000 }, { cost: 3 })).allowed).toBe(true)
    expect(counter.scripts).toBe(4)
    await limiter.stop?.()
  })

  test('lease mode: batches from Redis, spent in process; two instances together admit exactly the limit in one window', async () => {
    const a = counting(shared.redis)
    const b = counting(shared.redis)
    const opts = { keyPrefix: prefix, lease: { groups: ['api'], batch: 10, ttl: '5 s' as const } }
    const one = createRedisRateLimiter({ redis: a.client, ...opts })
    const two = createRedisRateLimiter({ redis: b.client, ...opts })
    const key = `u:${crypto.randomUUID()}:api`
    const rule = { limit: 50, windowMs: 60_000 }
    const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? one : two).consume(key, rule, { group: 'api' })))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50)
    // 50 units in batches of 10, plus a denied call or two per instance.
    expect(a.counter.scripts + b.counter.scripts).toBeLessThanOrEqual(10)
    // Groups outside `lease.groups` stay exact: one script per call.
    const chat = `u:${crypto.randomUUID()}:chat`
    const before = a.counter.scripts
    for (let i = 0; i < 5; i++) await one.consume(chat, rule, { group: 'chat' })
    expect(a.counter.scripts - before).toBe(5)
    await one.stop?.()
    await two.stop?.()
  })

  test('lease mode: consumeNow spends a held lease with no Redis call, and answers undefined (taking nothing) otherwise', async () => {
    const { client, counter } = counting(shared.redis)
    const limiter = createRedisRateLimiter({ redis: client, keyPrefix: prefix, lease: { groups: ['api'], batch: 5, ttl: '5 s' } })
    const key = `u:${crypto.randomUUID()}:api`
    const rule = { limit: 7, windowMs: 60_000 }
    const api = { group: 'api' }
    // No lease yet: nothing can be decided now.
    expect(limiter.consumeNow!(key, rule, api)).toBeUndefined()
    expect(await limiter.consume(key, rule, api)).toMatchObject({ allowed: true, remaining: 6 }) // leases 5, spends 1
    const scripts = counter.scripts
    const now = [1, 2, 3, 4].map(() => limiter.consumeNow!(key, rule, api))
    expect(now.map((d) => d?.remaining)).toEqual([5, 4, 3, 2])
    expect(counter.scripts).toBe(scripts)
    // The lease is spent: undefined again, and the 2 units still in Redis are all that is left.
    expect(limiter.consumeNow!(key, rule, api)).toBeUndefined()
    expect(limiter.consumeNow!(key, rule, { group: 'chat' })).toBeUndefined()
    const rest = await Promise.all([1, 2, 3].map(() => limiter.consume(key, rule, api)))
    expect(rest.filter((d) => d.allowed)).toHaveLength(2)
    await limiter.stop?.()
  })

  test('lease mode: unspent units expire with the lease', async () => {
    const limiter = createRedisRateLimiter({ redis: shared.redis, keyPrefix: prefix, lease: { groups: ['api'], batch: 5, ttl: 100 } })
    const key = `u:${crypto.randomUUID()}:api`
    const rule = { limit: 6, windowMs: 60_000 }
    const api = { group: 'api' }
    expect((await limiter.consume(key, rule, api)).allowed).toBe(true) // leases 5, spends 1
    await sleep(150)
    // The 4 unspent units are gone; Redis has 1 left, which the next lease takes.
    expect((await limiter.consume(key, rule, api)).allowed).toBe(true)
    expect((await limiter.consume(key, rule, api)).allowed).toBe(false)
    await limiter.stop?.()
  })

  test('keys are prefixed and hash-tagged, and every key has a TTL', async () => {
    const limiter = createRedisRateLimiter({ redis: shared.redis, keyPrefix: prefix })
    const id = crypto.randomUUID()
    await limiter.consume(`u:${id}:api`, { limit: 5, windowMs: 60_000 })
    await limiter.consume(`ip:192.0.2.1`, { limit: 5, windowMs: 60_000 }, { cost: 9 }) // denied: writes nothing
    expect(await keysUnder(shared.redis, `${prefix}rl:{u:${id}:api}`)).toEqual([`${prefix}rl:{u:${id}:api}`])
    const ttl = await shared.redis.pttl(`${prefix}rl:{u:${id}:api}`)
    expect(ttl).toBeGreaterThan(60_000)
    expect(ttl).toBeLessThanOrEqual(120_000)
    expect(await keysWithoutTtl(shared.redis, prefix)).toEqual([])
    await limiter.stop?.()
  })
})
