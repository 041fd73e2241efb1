/**
 * Rate limiter slot: decides whether one more unit of work fits in a key's window.
 *
 * Contract: `consume` is atomic per key (two concurrent calls never both take the last
 * unit); a denied call takes nothing; windows must slide (a request leaves the window exactly
 * `windowMs` after it was counted, approximated by weighting the previous fixed window).
 * Left out on purpose: where keys come from (client IP, user, route group are the
 * caller's business) and how a backend stores counters.
 */

export interface RateLimitRule {
  /** Units allowed per window. */
  limit: number
  /** Window length in milliseconds. */
  windowMs: number
}

export interface RateLimitDecision {
  allowed: boolean
  limit: number
  /** Units left in the window after this call (0 when denied). */
  remaining: number
  /** Epoch milliseconds when the window has fully refilled. */
  resetAt: number
  /** Milliseconds until one unit is available again; 0 when allowed. */
  retryAfterMs: number
}

export interface RateLimiter {
  /** Take `cost` units (default 1) from `key` under `rule`. */
  consume(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitDecision>
  /** Forget a key (tests, operator resets). */
  reset(key: string): Promise<void>
  stop?(): Promise<void>
}
