/**
 * Denials remembered in process: a client over its limit is answered here until its retry
 * time, without a Redis call. Exact, not an approximation: units only come back with time,
 * and other instances can only take more. (An operator's `reset` on another instance reaches
 * this one when the remembered retry time passes.)
 */
import type { RateLimitDecision, RateLimitRule } from 'scale-runtime/plugin'

interface Denial {
  limit: number
  windowMs: number
  /** The denied cost: a smaller one may still fit, so it goes to Redis. */
  cost: number
  /** Local epoch ms when `cost` fits again. */
  until: number
  resetAt: number
}

export interface DenyCache {
  /** The remembered denial for this call, if one still holds. */
  get(key: string, rule: RateLimitRule, cost: number, now: number): RateLimitDecision | undefined
  remember(key: string, rule: RateLimitRule, cost: number, d: RateLimitDecision, now: number): void
  forget(key: string): void
  clear(): void
}

export function createDenyCache(maxKeys: number): DenyCache {
  const denials = new Map<string, Denial>()

  function evict(now: number) {
    for (const [key, d] of denials) if (d.until <= now) denials.delete(key)
    // Still full of live denials: drop the oldest tenth (they go back to asking Redis).
    if (denials.size < maxKeys) return
    let drop = Math.max(1, Math.floor(maxKeys / 10))
    for (const key of denials.keys()) {
      denials.delete(key)
      if (--drop === 0) break
    }
  }

  return {
    get(key, rule, cost, now) {
      const d = denials.get(key)
      if (d === undefined) return undefined
      if (d.until <= now) {
        denials.delete(key)
        return undefined
      }
      if (cost < d.cost || d.limit !== rule.limit || d.windowMs !== rule.windowMs) return undefined
      return { allowed: false, limit: d.limit, remaining: 0, resetAt: d.resetAt, retryAfterMs: d.until - now }
    },
    remember(key, rule, cost, decision, now) {
      if (maxKeys === 0 || decision.retryAfterMs <= 0) return
      if (denials.size >= maxKeys && !denials.has(key)) evict(now)
      denials.set(key, {
        limit: rule.limit,
        windowMs: rule.windowMs,
        cost,
        until: now + decision.retryAfterMs,
        resetAt: decision.resetAt,
      })
    },
    forget(key) {
      denials.delete(key)
    },
    clear() {
      denials.clear()
    },
  }
}
