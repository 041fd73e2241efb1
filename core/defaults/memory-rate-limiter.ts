/** In-memory rate limiter: a sliding window counter per key, for one process. */
import type { ConsumeOptions, RateLimitDecision, RateLimiter, RateLimitRule } from '../ports/rate-limiter.ts'

export interface MemoryRateLimiterOptions {
  /** Clock in epoch milliseconds (fractions are floored); tests inject a fake one. @default Date.now */
  now?: () => number
  /**
   * Most keys tracked at once. When full, keys whose window has fully refilled are dropped
   * first (that changes no decision); if that frees too little, the oldest keys are dropped,
   * which forgets their counts (they fail open), so keep this well above the live key count.
   * @default 100_000
   */
  maxKeys?: number
}

/** Two fixed windows of one key: `window` is the index of the current one (`floor(t / windowMs)`). */
interface Counter {
  windowMs: number
  window: number
  curr: number
  prev: number
}

/**
 * Sliding window counter, as Cloudflare and upstash ratelimit do it: fixed windows aligned
 * to the epoch, and the previous window's count weighted by how much of it still overlaps
 * the sliding window. At offset `e` into the current window:
 *
 *   used = prev * (windowMs - e) / windowMs + curr
 *
 * A call fits when `used + cost <= limit`. Everything is computed scaled by `windowMs`, in
 * integers, so the Redis script can do the same arithmetic and both backends agree exactly.
 * `resetAt` is when `used` reaches 0 with no further calls; `retryAfterMs` is the earliest
 * moment this call's cost fits (for a cost of 1, when one unit is back). A cost above the
 * limit never fits; its denial reports the time to a full refill (at least one window).
 *
 * @example
 * const limiter = createMemoryRateLimiter()
 * const d = await limiter.consume(`ip:${ip}`, { limit: 60, windowMs: 60_000 }, { group: 'anonymous' })
 * if (!d.allowed) {
 *   const retryAfter = String(Math.ceil(d.retryAfterMs / 1000))
 *   throw new ScaleError('RATE_LIMITED', 'too many requests', { headers: { 'retry-after': retryAfter } })
 * }
 */
export function createMemoryRateLimiter(opts: MemoryRateLimiterOptions = {}): RateLimiter {
  const now = opts.now ?? Date.now
  const maxKeys = opts.maxKeys ?? 100_000
  if (!Number.isInteger(maxKeys) || maxKeys < 1) {
    throw new RangeError(`maxKeys must be a positive integer, got ${String(maxKeys)}`)
  }
  // Evicting down to a low-water mark makes the O(n) sweep run at most once per ~10% of inserts.
  const lowWater = maxKeys - Math.max(1, Math.floor(maxKeys / 10))
  const counters = new Map<string, Counter>()

  function evict(t: number): void {
    for (const [key, c] of counters) if (resetAt(c, t) <= t) counters.delete(key)
    if (counters.size <= lowWater) return
    for (const key of counters.keys()) {
      counters.delete(key)
      if (counters.size <= lowWater) break
    }
  }

  function consumeNow(key: string, rule: RateLimitRule, options?: ConsumeOptions): RateLimitDecision {
    const { limit, windowMs: w } = rule
    const cost = options?.cost ?? 1
    if (!(w > 0) || !(limit >= 0) || !(cost >= 0)) {
      throw new RangeError(
        'rate limit needs windowMs > 0, limit >= 0 and cost >= 0, ' +
          `got windowMs ${w}, limit ${limit}, cost ${cost}`,
      )
    }
    const t = Math.floor(now())
    const index = Math.floor(t / w)
    let c = counters.get(key)
    if (c === undefined) {
      if (counters.size >= maxKeys) evict(t)
      c = { windowMs: w, window: index, curr: 0, prev: 0 }
      counters.set(key, c)
    } else if (c.window !== index || c.windowMs !== w) {
      roll(c, w, index)
    }
    const e = t - index * w
    const usedScaled = c.prev * (w - e) + c.curr * w
    const leftScaled = limit * w - usedScaled - cost * w
    if (leftScaled >= 0) {
      c.curr += cost
      return {
        allowed: true,
        limit,
        remaining: Math.floor(leftScaled / w),
        resetAt: resetAt(c, t),
        retryAfterMs: 0,
      }
    }
    const reset = resetAt(c, t)
    return {
      allowed: false,
      limit,
      remaining: 0,
      resetAt: reset,
      retryAfterMs: cost > limit ? Math.max(reset - t, w) : retryAfter(c, t, e, limit - cost),
    }
  }

  return {
    async consume(key: string, rule: RateLimitRule, options?: ConsumeOptions): Promise<RateLimitDecision> {
      return consumeNow(key, rule, options)
    },

    consumeNow,

    async reset(key: string): Promise<void> {
      counters.delete(key)
    },

    async stop(): Promise<void> {
      counters.clear()
    },
  }
}

/** Move a counter to window `index`; a change of window length starts it afresh. */
function roll(c: Counter, windowMs: number, index: number): void {
  if (c.windowMs === windowMs && index === c.window + 1) c.prev = c.curr
  else c.prev = 0
  c.curr = 0
  c.window = index
  c.windowMs = windowMs
}

/** When the weighted count reaches 0 with no further calls (absolute, so still valid later). */
function resetAt(c: Counter, t: number): number {
  // The current window's units weigh in until the end of the next window.
  if (c.curr > 0) return (c.window + 2) * c.windowMs
  if (c.prev > 0) return (c.window + 1) * c.windowMs
  return t
}

/**
 * Milliseconds from `t` (offset `e` into the current window) until the weighted count is at
 * most `room` (= limit - cost), assuming nothing else is consumed. Called only after a denial
 * with cost <= limit, so the result is > 0.
 */
function retryAfter(c: Counter, t: number, e: number, room: number): number {
  const w = c.windowMs
  // Still in this window: prev * (w - e') <= (room - curr) * w  =>  e' >= w - (room - curr) * w / prev
  if (c.curr <= room && c.prev > 0) {
    const fit = w - Math.floor(((room - c.curr) * w) / c.prev)
    if (fit < w) return fit - e
  }
  // In the next window this window's count is the weighted one: curr * (w - e') <= room * w
  const fit = c.curr === 0 ? 0 : Math.max(0, w - Math.floor((room * w) / c.curr))
  return (c.window + 1) * w + fit - t
}
