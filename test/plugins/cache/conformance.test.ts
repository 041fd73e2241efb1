/** The cache plugin against the cache conformance suite: one instance, two instances on one Redis, and an L1 of one entry. */
import { expect, test } from 'bun:test'
import { cacheSuite } from 'scale-runtime/testing'
import { describeWith, redisMissing, REDIS_URL } from '../../helpers/services.ts'
import { keysWithoutTtl, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'
import { alternating, cacheInstance } from './helpers.ts'

const prefix = uniquePrefix('cache-conformance')

describeWith('cache plugin [redis]', await redisMissing(), () => {
  const shared = useSharedRedis(prefix)

  cacheSuite('cache plugin, one instance', async () => {
    const one = await cacheInstance(REDIS_URL, prefix)
    return Object.assign(one.cache, { stop: one.stop })
  })

  cacheSuite('cache plugin, two instances on one redis (calls alternate)', async () => {
    const [a, b] = await Promise.all([cacheInstance(REDIS_URL, prefix), cacheInstance(REDIS_URL, prefix)])
    return alternating(a.cache, b.cache, async () => {
      await a.stop()
      await b.stop()
    })
  })

  // An L1 of one entry: nearly every read goes to Redis, as under memory pressure.
  cacheSuite('cache plugin, an L1 of one entry', async () => {
    const one = await cacheInstance(REDIS_URL, prefix, { l1MaxEntries: 1 })
    return Object.assign(one.cache, { stop: one.stop })
  })

  test('after the suites, no key under the prefix lives forever', async () => {
    expect(await keysWithoutTtl(shared.redis, prefix)).toEqual([])
  })
})
