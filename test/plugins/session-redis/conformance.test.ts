/** The Redis session store against the same conformance suite as the memory default. */
import { expect, test } from 'bun:test'
import { createRedisSessionStore } from '../../../plugins/session-redis/index.ts'
import { sessionStoreSuite } from 'scale-runtime/testing'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { keysWithoutTtl, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'

const prefix = uniquePrefix('conformance')

describeWith('redis session store [redis]', await redisMissing(), () => {
  const shared = useSharedRedis(prefix)

  sessionStoreSuite('redis', () => createRedisSessionStore({ redis: shared.redis, keyPrefix: prefix, ttlMs: 400 }), { ttlMs: 400 })

  test('after the suite, no key under the prefix lives forever', async () => {
    expect(await keysWithoutTtl(shared.redis, prefix)).toEqual([])
  })
})
