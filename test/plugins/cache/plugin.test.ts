/** The cache plugin beyond the conformance suite: single flight across instances, L1 bounds, keys, metrics. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { L1 } from '../../../plugins/cache/l1.ts'
import { describeWith, redisMissing, REDIS_URL } from '../../helpers/services.ts'
import { keysUnder, keysWithoutTtl, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'
import { cacheInstance, metricValue, type TestInstance } from './helpers.ts'

const prefix = uniquePrefix('cache-plugin')

describe('cache L1 bounds', () => {
  test('entries and bytes are both bounded, least recently used out first', () => {
    const l1 = new L1({ maxEntries: 3, maxBytes: 100 })
    l1.enable(true)
    for (const k of ['a', 'b', 'c']) l1.set(k, k, 10, 10_000, [], l1.generation)
    expect(l1.get('a')).toBeDefined() // a is now the most recent
    l1.set('d', 'd', 10, 10_000, [], l1.generation)
    expect([l1.get('b'), l1.size]).toEqual([undefined, 3])
    l1.set('big', 'x', 90, 10_000, [], l1.generation) // 30 + 90 > 100: the oldest go until it fits
    expect(l1.bytes).toBeLessThanOrEqual(100)
    expect(l1.get('big')).toBeDefined()
    l1.set('huge', 'x', 101, 10_000, [], l1.generation) // bigger than the whole level: never stored
    expect(l1.get('huge')).toBeUndefined()
  })

  test('a read that started before a drop does not store; an off level stores nothing', () => {
    const l1 = new L1({ maxEntries: 10, maxBytes: 1000 })
    l1.enable(true)
    const before = l1.generation
    l1.dropTags(['t'])
    l1.set('k', 1, 1, 10_000, ['t'], before)
    expect(l1.get('k')).toBeUndefined()
    l1.enable(false)
    l1.set('k', 1, 1, 10_000, ['t'], l1.generation)
    expect(l1.get('k')).toBeUndefined()
  })
})

describeWith('cache plugin on one redis [redis]', await redisMissing(), () => {
  let a: TestInstance
  let b: TestInstance
  beforeAll(async () => {
    ;[a, b] = await Promise.all([cacheInstance(REDIS_URL, prefix), cacheInstance(REDIS_URL, prefix)])
  })
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
  })
  // After the instances' hooks: their keys are dropped once they stopped.
  const shared = useSharedRedis(prefix)

  test('50 concurrent misses for one key across two instances run the load once', async () => {
    for (let round = 0; round < 5; round++) {
      const key = `sf:${crypto.randomUUID()}`
      let calls = 0
      const load = async () => {
        calls++
        await Bun.sleep(50)
        return { round }
      }
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).cache.wrap(key, 10_000, ['sf'], load)))
      expect(calls).toBe(1)
      expect(results.every((r) => r.round === round)).toBe(true)
    }
    expect(
      (await metricValue(a.metrics, 'cache_shared_loads_total')) + (await metricValue(b.metrics, 'cache_shared_loads_total')),
    ).toBeGreaterThan(0)
  })

  test('a holder that never answers delays the other instance by the lock wait at most, then it loads itself', async () => {
    const quick = await cacheInstance(REDIS_URL, prefix, { lockWaitMs: 200 })
    try {
      const key = `stuck:${crypto.randomUUID()}`
      const never = a.cache.wrap(key, 10_000, [], () => new Promise<string>(() => {}))
      await Bun.sleep(50)
      const started = Date.now()
      expect(await quick.cache.wrap(key, 10_000, [], async () => 'own')).toBe('own')
      const waited = Date.now() - started
      expect(waited).toBeGreaterThanOrEqual(150)
      expect(waited).toBeLessThan(2000)
      void never
    } finally {
      await quick.stop()
    }
  })

  test('an invalidation on one instance is seen by the other at once: L1 dropped, L2 version moved', async () => {
    const key = `inv:${crypto.randomUUID()}`
    const tag = `t:${crypto.randomUUID()}`
    let version = 0
    const load = async () => version
    for (let i = 0; i < 50; i++) {
      expect(await b.cache.wrap(key, 10_000, [tag], load)).toBe(version)
      expect(await b.cache.wrap(key, 10_000, [tag], load)).toBe(version) // an L1 hit on b
      version++
      await a.cache.invalidate([tag])
      expect(await b.cache.wrap(key, 10_000, [tag], load)).toBe(version)
    }
    // Most second reads are L1 hits (one may reach L2 while the first load's fill is still on its way).
    expect(await metricValue(b.metrics, 'cache_hits_total', { level: 'l1' })).toBeGreaterThanOrEqual(45)
  })

  test('stale-while-revalidate: a stale value is served while one refresh runs, never after an invalidation', async () => {
    const key = `swr:${crypto.randomUUID()}`
    const tag = `t:${crypto.randomUUID()}`
    let version = 1
    let calls = 0
    const load = async () => {
      calls++
      await Bun.sleep(100)
      return version
    }
    const opts = { staleMs: 5_000 }
    expect(await a.cache.wrap(key, 200, [tag], load, opts)).toBe(1)
    await Bun.sleep(300)
    version = 2
    const started = Date.now()
    expect(await b.cache.wrap(key, 200, [tag], load, opts)).toBe(1) // stale, at once
    expect(Date.now() - started).toBeLessThan(90)
    await Bun.sleep(200)
    expect(await b.cache.wrap(key, 200, [tag], load, opts)).toBe(2) // refreshed
    expect(calls).toBe(2)
    version = 3
    await a.cache.invalidate([tag])
    expect(await b.cache.wrap(key, 200, [tag], load, opts)).toBe(3)
  })

  test('keys carry the prefix and every one of them expires', async () => {
    await a.cache.wrap(`ttl:${crypto.randomUUID()}`, 10_000, ['x'], async () => 1)
    await a.cache.invalidate(['x'])
    expect((await keysUnder(shared.redis, `${prefix}cache:{c}:`)).length).toBeGreaterThan(0)
    expect(await keysWithoutTtl(shared.redis, prefix)).toEqual([])
  })
})
