/**
 * The Lua script and the memory limiter give the same answers, field for field, on random
 * sequences: the script is run with the time passed in (one line swapped in a copy of the
 * source) so both see the same clock.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { createMemoryRateLimiter } from '../../../core/defaults/memory-rate-limiter.ts'
import type { RateLimitRule } from '../../../core/ports/rate-limiter.ts'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { uniquePrefix, useSharedRedis } from '../../redis/redis.ts'

const source = readFileSync(new URL('../../../plugins/ratelimit-redis/lua/sliding-window.lua', import.meta.url), 'utf8')
const TIME_LINES = /local now = redis\.call\('TIME'\)\nlocal t = [^\n]+\n/
const withClock = source.replace(TIME_LINES, 'local t = tonumber(ARGV[5])\n')

const prefix = uniquePrefix('sliding-window')

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describeWith('sliding-window.lua matches the memory limiter [redis]', await redisMissing(), () => {
  const shared = useSharedRedis(prefix)

  test('the clock line was swapped (the test would compare nothing otherwise)', () => {
    expect(withClock).not.toBe(source)
    expect(withClock).not.toContain("redis.call('TIME')")
  })

  for (const seed of [1, 2, 3, 4, 5]) {
    test(`2,000 random calls (seed ${seed}): every decision equal`, async () => {
      const random = rng(seed)
      let t = 1_700_000_000_000 + Math.floor(random() * 1_000_000)
      const memory = createMemoryRateLimiter({ now: () => t })
      const rules: RateLimitRule[] = [
        { limit: 5, windowMs: 1000 },
        { limit: 10, windowMs: 1000 },
        { limit: 7, windowMs: 1500 },
        { limit: 0, windowMs: 1000 },
      ]
      const keys = ['a', 'b', 'c'].map((k) => `${prefix}${seed}:${k}`)
      let rule = rules[0]!
      for (let i = 0; i < 2000; i++) {
        const r = random()
        t += r < 0.6 ? Math.floor(random() * 120) : r < 0.95 ? Math.floor(random() * 700) : Math.floor(random() * 4000)
        if (random() < 0.03) rule = rules[Math.floor(random() * rules.length)]!
        const key = keys[Math.floor(random() * keys.length)]!
        if (random() < 0.01) {
          await memory.reset(key)
          await shared.redis.del(key)
          continue
        }
        const cost = random() < 0.8 ? 1 : Math.floor(random() * 12)
        const expected = await memory.consume(key, rule, { cost })
        const [allowed, taken, remaining, resetIn, retryAfter] = (await shared.redis.eval(
          withClock,
          1,
          key,
          rule.limit,
          rule.windowMs,
          cost,
          cost,
          t,
        )) as number[]
        const got = { allowed: allowed === 1, limit: rule.limit, remaining, resetAt: t + resetIn!, retryAfterMs: retryAfter }
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          throw new Error(
            `call ${i} (key ${key}, rule ${JSON.stringify(rule)}, cost ${cost}, t ${t}): redis ${JSON.stringify(got)} memory ${JSON.stringify(expected)}`,
          )
        }
        expect(taken).toBe(expected.allowed ? cost : 0)
      }
    })
  }

  test('lease call: takes what fits, at least the minimum, and reports the retry for the minimum', async () => {
    const key = `${prefix}lease`
    const t = 1_699_999_980_000 // the start of a 60 s window
    const call = async (cost: number, least: number) => (await shared.redis.eval(withClock, 1, key, 10, 60_000, cost, least, t)) as number[]
    expect(await call(4, 1)).toEqual([1, 4, 6, 120_000, 0])
    expect(await call(8, 1)).toEqual([1, 6, 0, 120_000, 0])
    const denied = await call(8, 1)
    expect(denied.slice(0, 3)).toEqual([0, 0, 0])
    expect(denied[4]).toBeGreaterThan(0)
  })
})
