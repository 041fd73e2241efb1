/**
 * Lease mode: take units from Redis in batches and spend them in process, so most calls
 * make no Redis round trip. Concurrent calls for one key share one fetch.
 *
 * The bound: every unit spent was counted in Redis, but up to `ttl` before it was spent, so
 * in any window the instances together admit at most `limit + instances × (batch − 1)`
 * (each instance holds at most one lease per key, and spends one unit of it at once).
 * Units not spent within `ttl` are dropped, which under-admits by at most the same amount.
 */
import type { RateLimitDecision, RateLimitRule } from 'scale-runtime/plugin'

/** A decision from Redis that may have taken fewer units than asked (at least `least`). */
export interface Taken extends RateLimitDecision {
  taken: number
}

export type Take = (key: string, rule: RateLimitRule, cost: number, least: number) => Promise<Taken>

export interface LeaseOptions {
  batch: number
  ttlMs: number
  maxKeys: number
}

interface Lease {
  limit: number
  windowMs: number
  tokens: number
  expiresAt: number
  /** What Redis had left when the lease was taken. */
  remaining: number
  resetAt: number
  /** The fetch in flight; resolves with a denial, or undefined when tokens arrived. */
  inflight?: Promise<RateLimitDecision | undefined>
}

export interface Leases {
  consume(key: string, rule: RateLimitRule): Promise<RateLimitDecision>
  /** One unit from a lease held now; undefined (nothing taken) when none is held. */
  consumeNow(key: string, rule: RateLimitRule): RateLimitDecision | undefined
  forget(key: string): void
  clear(): void
}

export function createLeases(opts: LeaseOptions, take: Take): Leases {
  const leases = new Map<string, Lease>()

  function fresh(key: string, rule: RateLimitRule): Lease {
    if (leases.size >= opts.maxKeys) {
      const now = Date.now()
      for (const [k, l] of leases) if (!l.inflight && (l.expiresAt <= now || l.tokens === 0)) leases.delete(k)
    }
    const lease: Lease = { limit: rule.limit, windowMs: rule.windowMs, tokens: 0, expiresAt: 0, remaining: 0, resetAt: 0 }
    leases.set(key, lease)
    return lease
  }

  function fetch(key: string, rule: RateLimitRule, lease: Lease): Promise<RateLimitDecision | undefined> {
    lease.tokens = 0
    lease.inflight = take(key, rule, opts.batch, 1)
      .then((d) => {
        if (!d.allowed) return d
        lease.tokens = d.taken
        lease.expiresAt = Date.now() + opts.ttlMs
        lease.remaining = d.remaining
        lease.resetAt = d.resetAt
        return undefined
      })
      .finally(() => {
        lease.inflight = undefined
      })
    return lease.inflight
  }

  function consumeNow(key: string, rule: RateLimitRule): RateLimitDecision | undefined {
    const lease = leases.get(key)
    if (!lease || lease.tokens === 0 || lease.limit !== rule.limit || lease.windowMs !== rule.windowMs) return undefined
    if (lease.expiresAt <= Date.now()) return undefined
    lease.tokens--
    return { allowed: true, limit: rule.limit, remaining: lease.remaining + lease.tokens, resetAt: lease.resetAt, retryAfterMs: 0 }
  }

  return {
    async consume(key, rule) {
      for (;;) {
        const now = consumeNow(key, rule)
        if (now) return now
        let lease = leases.get(key)
        if (lease && !lease.inflight && (lease.limit !== rule.limit || lease.windowMs !== rule.windowMs)) lease = undefined
        const denied = await (lease?.inflight ?? fetch(key, rule, lease ?? fresh(key, rule)))
        if (denied) return denied
        // tokens arrived (perhaps already taken by other waiters): look again
      }
    },
    consumeNow,
    forget(key) {
      leases.delete(key)
    },
    clear() {
      leases.clear()
    },
  }
}
