/** Conformance suite for the cache slot: every backend runs it with its own factory. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { settle } from './settle.ts'
import type { Cache } from '../core/ports/cache.ts'
import { setTimeout as sleep } from 'node:timers/promises'

/** Keys and tags unique per test, so runs sharing one Redis never collide. */
const unique = (label: string) => `conformance:${label}:${crypto.randomUUID()}`

/** A load that counts its calls and answers after `ms`, with `value()` read at the end. */
function counted<T>(value: () => T, ms = 30) {
  const load = Object.assign(
    async () => {
      load.calls++
      await sleep(ms)
      return value()
    },
    { calls: 0 },
  )
  return load
}

/** A load that reads `source.version` when it starts and answers it after `ms`. */
function versioned(source: { version: string }, ms = 80) {
  const load = Object.assign(
    async () => {
      load.calls++
      const seen = source.version
      await sleep(ms)
      return seen
    },
    { calls: 0 },
  )
  return load
}

/**
 * Runs the cache contract against `make`, called once per test. Uses real time (TTLs of
 * about 200 ms), never a fake clock, so backends that take time from a server pass or fail
 * the same way.
 *
 * @example
 * cacheSuite('memory', () => createMemoryCache())
 */
export interface CacheSuiteOptions {
  /** Whether the backend offers `stats()`. Default true; a backend without it declares `false`. */
  stats?: boolean
}

export function cacheSuite(name: string, make: () => Promise<Cache> | Cache, opts: CacheSuiteOptions = {}): void {
  const hasStats = opts.stats ?? true
  describe(`cache conformance: ${name}`, () => {
    let cache: Cache
    beforeEach(async () => {
      cache = await make()
    })
    afterEach(async () => {
      await cache.stop?.()
    })

    test('set, get and delete', async () => {
      const key = unique('key')
      expect(await cache.get(key)).toBeUndefined()
      await cache.set(key, { n: 1, list: ['a'] }, 10_000)
      expect(await cache.get(key)).toEqual({ n: 1, list: ['a'] })
      await cache.set(key, 'replaced', 10_000)
      expect(await cache.get<string>(key)).toBe('replaced')
      await cache.delete(key)
      expect(await cache.get(key)).toBeUndefined()
    })

    test('wrap loads once, then serves the stored value', async () => {
      const key = unique('wrap')
      const load = counted(() => 'v1')
      expect(await cache.wrap(key, 10_000, [], load)).toBe('v1')
      expect(await cache.wrap(key, 10_000, [], load)).toBe('v1')
      expect(await cache.get(key)).toBe('v1')
      expect(load.calls).toBe(1)
    })

    test('20 concurrent wraps of a missing key share one load', async () => {
      const key = unique('single-flight')
      const load = counted(() => ({ id: 42 }), 50)
      const values = await Promise.all(Array.from({ length: 20 }, () => cache.wrap(key, 10_000, [], load)))
      expect(load.calls).toBe(1)
      expect(values.every((v) => v.id === 42)).toBe(true)
    })

    test('undefined is never cached', async () => {
      const key = unique('undefined')
      const load = counted(() => undefined, 5)
      expect(await cache.wrap(key, 10_000, [], load)).toBeUndefined()
      expect(await cache.wrap(key, 10_000, [], load)).toBeUndefined()
      expect(load.calls).toBe(2)
      await cache.set(key, undefined, 10_000)
      expect(await cache.get(key)).toBeUndefined()
    })

    test('falsy values other than undefined are cached', async () => {
      const key = unique('falsy')
      const load = counted(() => 0, 5)
      expect(await cache.wrap(key, 10_000, [], load)).toBe(0)
      expect(await cache.wrap(key, 10_000, [], load)).toBe(0)
      expect(load.calls).toBe(1)
      const nullKey = unique('null')
      await cache.set(nullKey, null, 10_000)
      expect(await cache.get(nullKey)).toBeNull()
    })

    test('a failing load reaches every waiter and is not cached', async () => {
      const key = unique('error')
      let fail = true
      let calls = 0
      const load = async () => {
        calls++
        await sleep(30)
        if (fail) throw new Error('backend down')
        return 'recovered'
      }
      const settled = await Promise.allSettled(Array.from({ length: 20 }, () => cache.wrap(key, 10_000, [], load)))
      expect(calls).toBe(1)
      expect(settled.every((s) => s.status === 'rejected')).toBe(true)
      expect(settled.map((s) => (s as PromiseRejectedResult).reason?.message)).toEqual(Array.from({ length: 20 }, () => 'backend down'))
      expect(await cache.get(key)).toBeUndefined()
      fail = false
      expect(await cache.wrap(key, 10_000, [], load)).toBe('recovered')
      expect(calls).toBe(2)
    })

    test('entries expire after their TTL', async () => {
      const key = unique('ttl')
      const setKey = unique('ttl-set')
      let n = 0
      const load = counted(() => ++n, 1)
      expect(await cache.wrap(key, 200, [], load)).toBe(1)
      await cache.set(setKey, 'short', 200)
      expect(await cache.wrap(key, 200, [], load)).toBe(1)
      await sleep(300)
      expect(await cache.get(setKey)).toBeUndefined()
      expect(await cache.wrap(key, 200, [], load)).toBe(2)
      expect(load.calls).toBe(2)
    })

    test('invalidate drops the entries with those tags and only those', async () => {
      const tagA = unique('tag-a')
      const tagB = unique('tag-b')
      const [k1, k2, k3] = [unique('k1'), unique('k2'), unique('k3')]
      await cache.set(k1, 1, 10_000, [tagA])
      await cache.set(k2, 2, 10_000, [tagA, tagB])
      await cache.set(k3, 3, 10_000, [tagB])
      const wrapped = unique('wrapped')
      await cache.wrap(wrapped, 10_000, [tagA], async () => 'w')
      await cache.invalidate([tagA, unique('unused-tag')])
      expect(await cache.get(k1)).toBeUndefined()
      expect(await cache.get(k2)).toBeUndefined()
      expect(await cache.get(wrapped)).toBeUndefined()
      expect(await cache.get(k3)).toBe(3)
      await cache.invalidate([tagB])
      expect(await cache.get(k3)).toBeUndefined()
    })

    test('a load in flight during invalidation answers its waiters but is not stored', async () => {
      const key = unique('in-flight')
      const tag = unique('tag')
      const source = { version: 'old' }
      const load = versioned(source)
      const waiting = Promise.all([cache.wrap(key, 10_000, [tag], load), cache.wrap(key, 10_000, [tag], load)])
      await sleep(20)
      await cache.invalidate([tag])
      source.version = 'new'
      expect(await waiting).toEqual(['old', 'old'])
      expect(await cache.get(key)).toBeUndefined()
      expect(await cache.wrap(key, 10_000, [tag], load)).toBe('new')
      expect(load.calls).toBe(2)
    })

    test('a wrap after an invalidation does not join the load that was in flight', async () => {
      const key = unique('rejoin')
      const tag = unique('tag')
      const source = { version: 'old' }
      const load = versioned(source)
      const before = cache.wrap(key, 10_000, [tag], load)
      await sleep(20)
      await cache.invalidate([tag])
      source.version = 'new'
      const after = cache.wrap(key, 10_000, [tag], load)
      expect(await before).toBe('old')
      expect(await after).toBe('new')
      expect(load.calls).toBe(2)
      expect(await cache.wrap(key, 10_000, [tag], load)).toBe('new')
    })

    test('keys are independent', async () => {
      const a = unique('a')
      const b = unique('b')
      await cache.wrap(a, 10_000, [], async () => 'A')
      expect(await cache.wrap(b, 10_000, [], async () => 'B')).toBe('B')
      await cache.delete(b)
      expect(await cache.get(a)).toBe('A')
    })

    test.skipIf(!hasStats)('stats count hits and misses (declare { stats: false } when not offered)', async () => {
      expect(typeof cache.stats).toBe('function')
      if (!cache.stats) return
      const before = cache.stats()
      const key = unique('stats')
      await cache.get(key)
      await cache.wrap(key, 10_000, [], async () => 1)
      await cache.wrap(key, 10_000, [], async () => 1)
      await cache.get(key)
      const after = cache.stats()
      expect(after.misses - before.misses).toBe(2)
      expect(after.hits - before.hits).toBe(2)
      expect(after.size).toBeGreaterThanOrEqual(1)
    })

    test('stop can be called twice', async () => {
      expect(await settle(cache.stop?.())).toBe('done')
      expect(await settle(cache.stop?.())).toBe('done')
    })
  })
}
