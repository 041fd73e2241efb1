/**
 * A sliding-window-log rate limiter: every allowed call is remembered until it leaves the
 * window, so a key never gets more than `limit` units in any `windowMs` span (a fixed window
 * would allow twice that across a boundary). Calls are handled one at a time per process,
 * which makes `consume` atomic here; a shared backend needs the same in one script or
 * transaction.
 */
import type { ConsumeOptions, RateLimitDecision, RateLimiter, RateLimitRule } from 'scale-runtime/plugin'

interface Entry {
  at: number
  cost: number
}

export function createSlidingWindowLimiter(opts: { maxKeys: number }): RateLimiter & { stop(): Promise<void> } {
  const logs = new Map<string, Entry[]>()

  const live = (key: string, windowMs: number, now: number): Entry[] => {
    const log = (logs.get(key) ?? []).filter((e) => e.at > now - windowMs)
    logs.delete(key) // re-inserted below: the map stays in least-recently-used order
    if (log.length) logs.set(key, log)
    return log
  }

  return {
    async consume(key: string, rule: RateLimitRule, options?: ConsumeOptions): Promise<RateLimitDecision> {
      const cost = options?.cost ?? 1
      const now = Date.now()
      const log = live(key, rule.windowMs, now)
      const used = log.reduce((n, e) => n + e.cost, 0)
      const last = log[log.length - 1]
      if (used + cost <= rule.limit) {
        log.push({ at: now, cost })
        logs.set(key, log)
        if (logs.size > opts.maxKeys) logs.delete(logs.keys().next().value as string)
        return { allowed: true, limit: rule.limit, remaining: rule.limit - used - cost, resetAt: now + rule.windowMs, retryAfterMs: 0 }
      }
      // Denied: take nothing. Retry when enough of the oldest entries have left the window.
      let freed = 0
      let retryAt = now + rule.windowMs
      if (cost <= rule.limit) {
        for (const e of log) {
          freed += e.cost
          if (used - freed + cost <= rule.limit) {
            retryAt = e.at + rule.windowMs
            break
          }
        }
      }
      const resetAt = last ? last.at + rule.windowMs : now
      return { allowed: false, limit: rule.limit, remaining: 0, resetAt: Math.max(resetAt, retryAt), retryAfterMs: Math.max(1, retryAt - now) }
    },
    async reset(key: string) {
      logs.delete(key)
    },
    async stop() {
      logs.clear()
    },
  }
}
