/** The Redis backends against the same conformance suites as the memory defaults. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import { createRedisRateLimiter } from '../../plugins/ratelimit-redis/index.ts'
import { createRedisSessionStore } from '../../plugins/session-redis/index.ts'
import { rateLimiterSuite, sessionStoreSuite } from 'scale-runtime/testing'
import { describeWith, redisMissing } from '../helpers/services.ts'
import { connectRedis, dropKeys, keysWithoutTtl, uniquePrefix } from './redis.ts'

const prefix = uniquePrefix('conformance')

describeWith('redis backends [redis]', await redisMissing(), () => {
  let redis: Redis
  beforeAll(async () => {
    redis = await connectRedis()
  })
  afterAll(async () => {
    await dropKeys(redis, prefix)
    redis.disconnect()
  })

  rateLimiterSuite('redis', () => createRedisRateLimiter({ redis, keyPrefix: prefix }))
  // Without the in-process denial cache every check goes to the script.
  rateLimiterSuite('redis, no denial cache', () => createRedisRateLimiter({ redis, keyPrefix: prefix, denyCacheSize: 0 }))
  sessionStoreSuite('redis', () => createRedisSessionStore({ redis, keyPrefix: prefix, ttlMs: 400 }), { ttlMs: 400 })

  test('after the suites, no key under the prefix lives forever', async () => {
    expect(await keysWithoutTtl(redis, prefix)).toEqual([])
  })
})
