/** Conformance suite for the rate limiter slot: every backend runs it with its own factory. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { settle } from './settle.ts'
import type { RateLimitDecision, RateLimiter, RateLimitRule } from '../core/ports/rate-limiter.ts'
import { setTimeout as sleep } from 'node:timers/promises'

/** Keys unique per test, so runs sharing one Redis never collide. */
const uniqueKey = (label: string) => `conformance:${label}:${crypto.randomUUID()}`
/** Slack for timers firing late and for a backend clock (Redis TIME) a little off ours. */
const SLACK = 50

/**
 * Runs the rate limiter contract against `make`, called once per test. Uses real time
 * (windows of 300-1000 ms), never a fake clock, so backends that take time from a server
 * pass or fail the same way.
 *
 * @example
 * rateLimiterSuite('memory', () => createMemoryRateLimiter())
 */
export function rateLimiterSuite(name: string, make: () => Promise<RateLimiter> | RateLimiter): void {
  describe(`rate limiter conformance: ${name}`, () => {
    let limiter: RateLimiter
    beforeEach(async () => {
      limiter = await make()
    })
    afterEach(async () => {
      await limiter.stop?.()
    })

    const drain = async (key: string, rule: RateLimitRule, n: number) => {
      const out: RateLimitDecision[] = []
      for (let i = 0; i < n; i++) out.push(await limiter.consume(key, rule))
      return out
    }

    test('a fresh key counts down from the limit, then denies', async () => {
      const key = uniqueKey('countdown')
      const rule = { limit: 5, windowMs: 60_000 }
      const decisions = await drain(key, rule, 6)
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false])
      expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0])
      expect(decisions.every((d) => d.limit === 5)).toBe(true)
      expect(decisions.slice(0, 5).every((d) => d.retryAfterMs === 0)).toBe(true)
    })

    test('a denied call takes nothing', async () => {
      const key = uniqueKey('denied-free')
      const rule = { limit: 5, windowMs: 60_000 }
      expect(await limiter.consume(key, rule, { cost: 3 })).toMatchObject({ allowed: true, remaining: 2 })
      for (let i = 0; i < 10; i++) {
        expect(await limiter.consume(key, rule, { cost: 3 })).toMatchObject({ allowed: false, remaining: 0 })
      }
      expect(await limiter.consume(key, rule, { cost: 2 })).toMatchObject({ allowed: true, remaining: 0 })
      expect((await limiter.consume(key, rule)).allowed).toBe(false)
    })

    test('a cost above the limit is denied with a retry time and takes nothing', async () => {
      const key = uniqueKey('too-big')
      const rule = { limit: 3, windowMs: 60_000 }
      const d = await limiter.consume(key, rule, { cost: 4 })
      expect(d.allowed).toBe(false)
      expect(d.retryAfterMs).toBeGreaterThan(0)
      expect((await drain(key, rule, 3)).every((x) => x.allowed)).toBe(true)
    })

    test('a denial says when to retry, and retrying then is allowed', async () => {
      const key = uniqueKey('retry')
      const rule = { limit: 3, windowMs: 600 }
      await drain(key, rule, 3)
      const before = Date.now()
      const first = await limiter.consume(key, rule)
      expect(first.allowed).toBe(false)
      expect(first.retryAfterMs).toBeGreaterThan(0)
      expect(first.retryAfterMs).toBeLessThanOrEqual(2 * rule.windowMs)
      // Full refill comes no earlier than the first unit back.
      expect(first.resetAt).toBeGreaterThanOrEqual(before + first.retryAfterMs - SLACK)
      expect(first.resetAt).toBeLessThanOrEqual(Date.now() + 2 * rule.windowMs + SLACK)
      // Denials in between change nothing, so the first answer still holds.
      await drain(key, rule, 10)
      await sleep(first.retryAfterMs + 15)
      expect((await limiter.consume(key, rule)).allowed).toBe(true)
    })

    test('at resetAt the whole limit is available again', async () => {
      const key = uniqueKey('reset-at')
      const rule = { limit: 4, windowMs: 500 }
      const before = Date.now()
      const last = (await drain(key, rule, 4))[3]
      expect(last.allowed).toBe(true)
      expect(last.resetAt).toBeGreaterThan(before)
      expect(last.resetAt).toBeLessThanOrEqual(Date.now() + 2 * rule.windowMs + SLACK)
      expect((await limiter.consume(key, rule)).allowed).toBe(false)
      await sleep(last.resetAt - Date.now() + SLACK)
      const again = await drain(key, rule, 4)
      expect(again.map((d) => d.allowed)).toEqual([true, true, true, true])
      expect(again[0].remaining).toBe(3)
    })

    test('the window slides: units come back gradually, never all at a boundary', async () => {
      const key = uniqueKey('slide')
      const rule = { limit: 20, windowMs: 1000 }
      const start = Date.now()
      await drain(key, rule, 20)
      // Sliding (log or weighted counter), at most limit * elapsed / windowMs units are back
      // before a window has passed; a fixed window gives them all back at its boundary.
      let back = 0
      for (let probe = 0; probe < 9; probe++) {
        await sleep(100)
        back += (await drain(key, rule, 20)).filter((d) => d.allowed).length
        const elapsed = Date.now() - start
        if (elapsed < rule.windowMs) {
          expect(back).toBeLessThanOrEqual(Math.floor((rule.limit * elapsed) / rule.windowMs) + 1)
        }
      }
    })

    test('no burst across a window boundary: 20 at the end of one window, then 20 at the start of the next, is refused', async () => {
      // A fixed window that opens at a key's first call lets all 40 through within ~200 ms
      // under a 20-per-second rule; a sliding window keeps the first 20 counted for a second.
      const key = uniqueKey('boundary')
      const rule = { limit: 20, windowMs: 1000 }
      const opened = Date.now()
      expect((await limiter.consume(key, rule)).allowed).toBe(true)
      await sleep(opened + rule.windowMs - 150 - Date.now())
      const full = Date.now()
      const first = await drain(key, rule, 19)
      expect(first.every((d) => d.allowed)).toBe(true)
      // Past the boundary of any window that opened at the first call.
      await sleep(opened + rule.windowMs + 50 - Date.now())
      const second = await drain(key, rule, 20)
      const elapsed = Date.now() - full
      const allowed = second.filter((d) => d.allowed).length
      // At most the first call's unit (it left the window) and what slid back since the
      // window filled; with timers on time that is 1 + 20 * 0.2 = 5, far below 20.
      expect(allowed).toBeLessThanOrEqual(1 + Math.floor((rule.limit * elapsed) / rule.windowMs) + 1)
      expect(allowed).toBeLessThan(rule.limit)
    })

    test('the group and cost come as options; the group never changes the count of a key', async () => {
      const key = uniqueKey('options')
      const rule = { limit: 4, windowMs: 60_000 }
      expect(await limiter.consume(key, rule, { group: 'api', cost: 2 })).toMatchObject({ allowed: true, remaining: 2 })
      expect(await limiter.consume(key, rule, { group: 'chat' })).toMatchObject({ allowed: true, remaining: 1 })
      expect(await limiter.consume(key, rule, {})).toMatchObject({ allowed: true, remaining: 0 })
      expect((await limiter.consume(key, rule, { group: 'anonymous' })).allowed).toBe(false)
    })

    test('consumeNow, where offered, counts with consume: an answer has taken its units, undefined has taken none', async () => {
      const key = uniqueKey('now')
      const rule = { limit: 6, windowMs: 60_000 }
      const now = limiter.consumeNow?.bind(limiter)
      // Alternate the two ways in; whichever answers, the count is the key's one count.
      const decisions: RateLimitDecision[] = []
      for (let i = 0; i < 8; i++) {
        const d = i % 2 === 0 ? now?.(key, rule, { group: 'api' }) : undefined
        decisions.push(d ?? (await limiter.consume(key, rule, { group: 'api' })))
      }
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, true, false, false])
      expect(decisions.slice(0, 6).map((d) => d.remaining)).toEqual([5, 4, 3, 2, 1, 0])
    })

    test('keys are independent', async () => {
      const a = uniqueKey('a')
      const b = uniqueKey('b')
      const rule = { limit: 2, windowMs: 60_000 }
      await drain(a, rule, 3)
      expect((await limiter.consume(a, rule)).allowed).toBe(false)
      expect(await limiter.consume(b, rule)).toMatchObject({ allowed: true, remaining: 1 })
    })

    test('reset forgets a key', async () => {
      const key = uniqueKey('reset')
      const rule = { limit: 2, windowMs: 60_000 }
      await drain(key, rule, 2)
      expect((await limiter.consume(key, rule)).allowed).toBe(false)
      await limiter.reset(key)
      expect(await limiter.consume(key, rule)).toMatchObject({ allowed: true, remaining: 1 })
    })

    test('200 concurrent calls with a limit of 50: exactly 50 allowed, each unit once', async () => {
      const key = uniqueKey('concurrent')
      const rule = { limit: 50, windowMs: 60_000 }
      const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.consume(key, rule)))
      const allowed = decisions.filter((d) => d.allowed)
      expect(allowed.length).toBe(50)
      expect(allowed.map((d) => d.remaining).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i))
      expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfterMs > 0)).toBe(true)
    })

    test('stop can be called twice', async () => {
      expect(await settle(limiter.stop?.())).toBe('done')
      expect(await settle(limiter.stop?.())).toBe('done')
    })
  })
}
