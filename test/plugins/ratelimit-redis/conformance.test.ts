/** The Redis rate limiter against the same conformance suite as the memory default. */
import { expect, test } from 'bun:test'
import { createRedisRateLimiter } from '../../../plugins/ratelimit-redis/index.ts'
import { rateLimiterSuite } from 'scale-runtime/testing'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { keysWithoutTtl, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'

const prefix = uniquePrefix('conformance')

describeWith('redis rate limiter [redis]', await redisMissing(), () => {
  const shared = useSharedRedis(prefix)

  rateLimiterSuite('redis', () => createRedisRateLimiter({ redis: shared.redis, keyPrefix: prefix }))
  // Without the in-process denial cache every check goes to the script.
  rateLimiterSuite('redis, no denial cache', () => createRedisRateLimiter({ redis: shared.redis, keyPrefix: prefix, denyCacheSize: 0 }))

  test('after the suite, no key under the prefix lives forever', async () => {
    expect(await keysWithoutTtl(shared.redis, prefix)).toEqual([])
  })
})
