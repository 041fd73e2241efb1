/**
 * `ratelimit-redis`: the rate-limit slot on Redis, so every instance counts against the same
 * windows. See README.md beside this file for the options, defaults and failure policies.
 */
import type { ScalePlugin } from 'scale-runtime/plugin'
import { createRedisRateLimiter, type RateLimitRedisOptions } from './limiter.ts'

export { createRedisRateLimiter, type FailurePolicy, type RateLimitRedisOptions } from './limiter.ts'

/**
 * The plugin for `config/scale.ts`. Uses the core's Redis connection (`REDIS_URL`), its key
 * prefix and command timeout.
 *
 * @default fallback 'local', breaker after 3 failures probing every '1 s', 10 000 denials cached, no leases
 * @example
 * import rateLimitRedis from '../plugins/ratelimit-redis/index.ts'
 * plugins: [rateLimitRedis({ fallback: 'local', fallbackByGroup: { anonymous: 'closed' }, lease: { groups: ['api'], batch: 20 } })]
 */
export default function rateLimitRedis(options: RateLimitRedisOptions = {}): ScalePlugin {
  let limiter: ReturnType<typeof createRedisRateLimiter> | undefined
  return {
    manifest: { name: 'ratelimit-redis', core: '^0.1.0', provides: ['rateLimit'], requires: { services: ['redis'] } },
    setup(ctx) {
      limiter = createRedisRateLimiter({
        ...options,
        redis: ctx.redis!,
        keyPrefix: ctx.config.redis.keyPrefix,
        logger: ctx.logger.child({ plugin: 'ratelimit-redis' }),
        metrics: ctx.metrics,
      })
      return { slots: { rateLimit: limiter } }
    },
    health: () => limiter?.health() ?? 'ok',
    // The core stops the slot after the plugins; this only makes an early stop safe.
    stop: () => limiter?.stop?.(),
  }
}
