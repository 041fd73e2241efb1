/** Bench-only plugin: a rate limiter slot that allows everything, to measure what the limiter itself costs. */
import type { RateLimitDecision, ScalePlugin } from 'scale-runtime/plugin'

const allowAll = (rule: { limit: number; windowMs: number }): RateLimitDecision => ({
  allowed: true,
  limit: rule.limit,
  remaining: rule.limit,
  resetAt: Date.now() + rule.windowMs,
  retryAfterMs: 0,
})

// Never use outside the bench: it turns rate limiting off. The guard still asks it (consumeNow,
// as it asks the memory limiter) and writes the headers, so only the limiter's own work drops out of the measurement.
export default function noopLimiter(): ScalePlugin {
  return {
    manifest: { name: 'bench-noop-limiter', core: '^0.1.0', provides: ['rateLimit'] },
    setup: () => ({
      slots: {
        rateLimit: {
          async consume(_key, rule): Promise<RateLimitDecision> {
            return allowAll(rule)
          },
          consumeNow: (_key, rule) => allowAll(rule),
          async reset() {},
        },
      },
    }),
  }
}
