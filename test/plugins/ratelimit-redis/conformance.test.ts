/** The Redis rate limiter against the same conformance suite as the memory default. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import { createRedisRateLimiter } from '../../../plugins/ratelimit-redis/index.ts'
import { rateLimiterSuite } from 'scale-runtime/testing'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, keysWithoutTtl, uniquePrefix } from '../../redis/redis.ts'

const prefix = uniquePrefix('conformance')

describeWith('redis rate limiter [redis]', await redisMissing(), () => {
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

  test('after the suite, no key under the prefix lives forever', async () => {
    expect(await keysWithoutTtl(redis, prefix)).toEqual([])
  })
})
