/** The Redis session store against the same conformance suite as the memory default. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import { createRedisSessionStore } from '../../../plugins/session-redis/index.ts'
import { sessionStoreSuite } from 'scale-runtime/testing'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, keysWithoutTtl, uniquePrefix } from '../../redis/redis.ts'

const prefix = uniquePrefix('conformance')

describeWith('redis session store [redis]', await redisMissing(), () => {
  let redis: Redis
  beforeAll(async () => {
    redis = await connectRedis()
  })
  afterAll(async () => {
    await dropKeys(redis, prefix)
    redis.disconnect()
  })

  sessionStoreSuite('redis', () => createRedisSessionStore({ redis, keyPrefix: prefix, ttlMs: 400 }), { ttlMs: 400 })

  test('after the suite, no key under the prefix lives forever', async () => {
    expect(await keysWithoutTtl(redis, prefix)).toEqual([])
  })
})
