/** Memory defaults of the session, rate limit and cache slots: conformance suites, clock-exact checks. */
import { describe, expect, test } from 'bun:test'
import { createMemoryCache } from '../../core/defaults/memory-cache.ts'
import { createMemoryRateLimiter } from '../../core/defaults/memory-rate-limiter.ts'
import { createMemorySessionStore } from '../../core/defaults/memory-session.ts'
import { cacheSuite, rateLimiterSuite, sessionStoreSuite } from 'scale-runtime/testing'

sessionStoreSuite('memory', () => createMemorySessionStore({ ttlMs: 400 }), { ttlMs: 400 })
rateLimiterSuite('memory', () => createMemoryRateLimiter())
cacheSuite('memory', () => createMemoryCache())

/** A clock the test moves by hand. */
function fakeClock(start = 0) {
  const clock = { t: start, now: () => clock.t }
  return clock
}

describe('memory rate limiter, exact numbers', () => {
  const rule = { limit: 10, windowMs: 1000 }

  test('the previous window weighs in by its overlap', async () => {
    const clock = fakeClock(100)
    const rl = createMemoryRateLimiter({ now: clock.now })
    for (let i = 0; i < 10; i++) await rl.consume('k', rule)
    const last = await rl.consume('k', rule)
    // All 10 were counted in window 0: they weigh 0.9 at t=1100, so one fits then.
    expect(last).toEqual({ allowed: false, limit: 10, remaining: 0, resetAt: 2000, retryAfterMs: 1000 })

    clock.t = 1250 // prev weighs 10 * 0.75 = 7.5
    expect(await rl.consume('k', rule)).toEqual({
      allowed: true,
      limit: 10,
      remaining: 1,
      resetAt: 3000,
      retryAfterMs: 0,
    })
    expect((await rl.consume('k', rule)).remaining).toBe(0)
    // 7.5 + 2 + 1 > 10; fits when 10 * (1000 - e) / 1000 <= 7, at e = 300.
    expect(await rl.consume('k', rule)).toMatchObject({ allowed: false, retryAfterMs: 50 })
    clock.t = 1299
    expect((await rl.consume('k', rule)).allowed).toBe(false)
    clock.t = 1300
    expect((await rl.consume('k', rule)).allowed).toBe(true)
  })

  test('resetAt is when the whole limit fits again', async () => {
    const clock = fakeClock(0)
    const rl = createMemoryRateLimiter({ now: clock.now })
    expect((await rl.consume('fresh', rule, { cost: 0 })).resetAt).toBe(0)
    clock.t = 1500
    const d = await rl.consume('k', rule, { cost: 3 })
    expect(d.resetAt).toBe(3000)
    clock.t = 2999
    expect((await rl.consume('k', rule, { cost: 10 })).allowed).toBe(false)
    // Nothing counted in window 2 yet, so only the previous window is left to drain.
    expect((await rl.consume('k', rule, { cost: 0 })).resetAt).toBe(3000)
    clock.t = 3000
    expect(await rl.consume('k', rule, { cost: 10 })).toMatchObject({ allowed: true, remaining: 0 })
  })

  test('retryAfterMs is the earliest moment the call fits, remaining is exact (random walk)', async () => {
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed % n
    }
    for (let run = 0; run < 200; run++) {
      const clock = fakeClock(random(10_000))
      const rl = createMemoryRateLimiter({ now: clock.now })
      const r = { limit: 1 + random(20), windowMs: [7, 100, 1000, 60_000][random(4)] }
      for (let step = 0; step < 40; step++) {
        clock.t += random(Math.ceil(r.windowMs / 3) + 1)
        const cost = 1 + random(3)
        const d = await rl.consume('k', r, { cost })
        if (d.allowed) {
          expect(d.remaining).toBeGreaterThanOrEqual(0)
          for (let i = 0; i < d.remaining; i++) expect((await rl.consume('k', r)).allowed).toBe(true)
          expect((await rl.consume('k', r)).allowed).toBe(false)
        } else if (cost <= r.limit) {
          expect(d.retryAfterMs).toBeGreaterThan(0)
          const at = clock.t + d.retryAfterMs
          clock.t = at - 1
          expect((await rl.consume('k', r, { cost })).allowed).toBe(false)
          clock.t = at
          expect((await rl.consume('k', r, { cost })).allowed).toBe(true)
        }
      }
    }
  })

  test('a changed window length starts the key afresh', async () => {
    const clock = fakeClock(0)
    const rl = createMemoryRateLimiter({ now: clock.now })
    await rl.consume('k', { limit: 2, windowMs: 1000 }, { cost: 2 })
    expect((await rl.consume('k', { limit: 2, windowMs: 1000 })).allowed).toBe(false)
    expect((await rl.consume('k', { limit: 2, windowMs: 2000 })).allowed).toBe(true)
  })

  test('a bad rule is refused with the values quoted', async () => {
    const rl = createMemoryRateLimiter()
    await expect(rl.consume('k', { limit: 1, windowMs: 0 })).rejects.toThrow(/windowMs 0/)
    expect(() => createMemoryRateLimiter({ maxKeys: 0 })).toThrow(/maxKeys/)
  })

  test('keys are bounded: refilled keys go first, then the oldest', async () => {
    const clock = fakeClock(0)
    const rl = createMemoryRateLimiter({ now: clock.now, maxKeys: 2 })
    const long = { limit: 1, windowMs: 60_000 }
    await rl.consume('live', long)
    await rl.consume('short', { limit: 1, windowMs: 100 }) // fully refilled by t=200
    clock.t = 500
    await rl.consume('new', long)
    expect((await rl.consume('live', long)).allowed).toBe(false)
    await rl.consume('another', long) // full of live keys: the oldest ('live') goes
    expect((await rl.consume('live', long)).allowed).toBe(true)
  })

  test('with thousands of keys the oldest are forgotten and the newest remembered', async () => {
    const rl = createMemoryRateLimiter({ maxKeys: 100 })
    const long = { limit: 1, windowMs: 60_000 }
    for (let i = 0; i < 5000; i++) await rl.consume(`k${i}`, long)
    expect((await rl.consume('k4999', long)).allowed).toBe(false)
    expect((await rl.consume('k4990', long)).allowed).toBe(false)
    expect((await rl.consume('k0', long)).allowed).toBe(true)
  })
})

describe('memory session store, exact times', () => {
  test('the TTL slides on get and on write, to the millisecond', async () => {
    const clock = fakeClock(0)
    const store = createMemorySessionStore({ ttlMs: 1000, now: clock.now })
    await store.patch('u', { a: 1 })
    clock.t = 999
    expect(await store.get('u')).toEqual({ a: 1 }) // now lives until 1999
    clock.t = 1998
    await store.patch('u', { b: 2 }) // until 2998
    clock.t = 2997
    expect(await store.get('u')).toEqual({ a: 1, b: 2 })
    clock.t = 3997
    expect(await store.get('u')).toBeNull()
    await store.stop?.()
  })

  test('buffers slide on append and summary; locks expire on time and do not slide', async () => {
    const clock = fakeClock(0)
    const store = createMemorySessionStore({ ttlMs: 1000, now: clock.now })
    await store.appendTurns('c', [{ role: 'user', content: 'hi' }], 5)
    clock.t = 900
    await store.setSummary('c', 's')
    clock.t = 1899
    expect(await store.getBuffer('c')).toEqual({ turns: [{ role: 'user', content: 'hi' }], summary: 's' })
    clock.t = 2899
    expect(await store.getBuffer('c')).toBeNull()

    const token = (await store.acquireLock('l', 100)) as string
    clock.t += 99
    expect(await store.acquireLock('l', 100)).toBeNull()
    expect(await store.extendLock('l', token, 100)).toBe(true)
    clock.t += 100
    expect(await store.acquireLock('l', 100)).toBeString()
    await store.stop?.()
  })

  test('a session with its last field deleted is gone', async () => {
    const store = createMemorySessionStore()
    await store.patch('u', { a: 1 })
    expect(await store.patch('u', { a: null })).toEqual({})
    expect(await store.get('u')).toBeNull()
    await store.stop?.()
  })

  test('bad options and arguments are refused', async () => {
    expect(() => createMemorySessionStore({ ttlMs: 0 })).toThrow(/ttlMs/)
    const store = createMemorySessionStore()
    await expect(store.acquireLock('l', 0)).rejects.toThrow(/ttlMs/)
    await expect(store.appendTurns('c', [], -1)).rejects.toThrow(/maxTurns/)
    await store.stop?.()
  })
})

describe('memory cache, exact behaviour', () => {
  test('the least recently used entry is evicted first', async () => {
    const cache = createMemoryCache({ maxEntries: 3 })
    await cache.set('a', 1, 10_000)
    await cache.set('b', 2, 10_000)
    await cache.set('c', 3, 10_000)
    expect(await cache.get('a')).toBe(1) // a is now the most recent
    await cache.set('d', 4, 10_000)
    expect(await cache.get('b')).toBeUndefined()
    expect([await cache.get('a'), await cache.get('c'), await cache.get('d')]).toEqual([1, 3, 4])
    expect(cache.stats?.().size).toBe(3)
  })

  test('entries expire exactly at their TTL and stats count them out', async () => {
    const clock = fakeClock(0)
    const cache = createMemoryCache({ now: clock.now })
    await cache.set('k', 'v', 100, ['t'])
    clock.t = 99
    expect(await cache.get('k')).toBe('v')
    clock.t = 100
    expect(cache.stats?.()).toEqual({ hits: 1, misses: 0, size: 0 })
    expect(await cache.get('k')).toBeUndefined()
    expect(cache.stats?.()).toEqual({ hits: 1, misses: 1, size: 0 })
  })

  test('invalidation shrinks the cache and joiners of a load count as misses', async () => {
    const cache = createMemoryCache()
    await cache.set('x', 1, 10_000, ['t'])
    await cache.set('y', 2, 10_000, ['t', 'u'])
    await cache.set('z', 3, 10_000, ['u'])
    await cache.invalidate(['t'])
    expect(cache.stats?.().size).toBe(1)
    await Promise.all([1, 2, 3].map(() => cache.wrap('w', 10_000, [], async () => 'w')))
    expect(cache.stats?.()).toEqual({ hits: 0, misses: 3, size: 2 })
  })

  test('delete or set during a load keeps the load from storing its result', async () => {
    const cache = createMemoryCache()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = (value: string) => async () => {
      await gate
      return value
    }
    const deleted = cache.wrap('d', 10_000, [], slow('stale'))
    const overwritten = cache.wrap('s', 10_000, [], slow('stale'))
    await cache.delete('d')
    await cache.set('s', 'fresh', 10_000)
    release()
    expect([await deleted, await overwritten]).toEqual(['stale', 'stale'])
    expect(await cache.get('d')).toBeUndefined()
    expect(await cache.get('s')).toBe('fresh')
  })

  test('a load that throws synchronously is not cached and does not block the key', async () => {
    const cache = createMemoryCache()
    const boom = (() => {
      throw new Error('sync boom')
    }) as unknown as () => Promise<string>
    await expect(cache.wrap('k', 10_000, [], boom)).rejects.toThrow('sync boom')
    expect(await cache.wrap('k', 10_000, [], async () => 'ok')).toBe('ok')
  })

  test('a TTL of 0 stores nothing; bad options are refused', async () => {
    const cache = createMemoryCache()
    await cache.set('k', 'v', 0)
    expect(await cache.get('k')).toBeUndefined()
    expect(() => createMemoryCache({ maxEntries: 0 })).toThrow(/maxEntries/)
  })
})
