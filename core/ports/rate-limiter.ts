/**
 * Rate limiter slot: decides whether one more unit of work fits in a key's window.
 *
 * Contract: `consume` is atomic per key (two concurrent calls never both take the last
 * unit); a denied call takes nothing; windows must slide (a request leaves the window exactly
 * `windowMs` after it was counted, approximated by weighting the previous fixed window).
 * Left out on purpose: where keys come from (client IP, user, route group are the
 * caller's business) and how a backend stores counters. The route group comes as data
 * (`options.group`), so a backend that treats groups differently (a failure policy, leases)
 * never parses it out of the key.
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

export interface ConsumeOptions {
  /** The route group the key belongs to (`api`, `sync`, `chat`, `anonymous`, ...). @default 'default' */
  group?: string
  /** Units to take. @default 1 */
  cost?: number
}

export interface RateLimiter {
  /** Take `options.cost` units (default 1) from `key` under `rule`. */
  consume(key: string, rule: RateLimitRule, options?: ConsumeOptions): Promise<RateLimitDecision>
  /**
   * Optional: the same decision, made now, when this limiter can make it without I/O (an
   * in-memory counter, a leased unit); `undefined` when it cannot, and then the caller uses
   * `consume`. A call that answers has taken the units, exactly as `consume` would; one that
   * answers `undefined` has taken nothing. The request path asks this first: a decision in
   * hand costs no promise and no turn of the event loop.
   */
  consumeNow?(key: string, rule: RateLimitRule, options?: ConsumeOptions): RateLimitDecision | undefined
  /** Forget a key (tests, operator resets). */
  reset(key: string): Promise<void>
  stop?(): Promise<void>
}
