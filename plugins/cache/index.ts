/**
 * `cache`: the cache slot for many instances. A bounded L1 in each process in front of
 * Redis, invalidation by tag across the cluster, single flight across instances, and
 * pass-through to the database while Redis is slow or down. See README.md beside this file.
 */
import { ms, type Duration, type ScalePlugin } from 'scale-runtime/plugin'
import { createRedisCache, type RedisCache } from './store.ts'

export { createRedisCache, type RedisCache, type RedisCacheOptions } from './store.ts'

export interface CacheOptions {
  /** Most entries kept in each process's L1. @default 10000 */
  l1MaxEntries?: number
  /** Most bytes (of serialised values) kept in each process's L1. @default 64 MiB */
  l1MaxBytes?: number
  /** How long a miss waits for another instance loading the same key before loading itself. @default '1 s' */
  lockWait?: Duration
  /** How often the pub/sub connection is checked with PING. @default '1 s' */
  heartbeat?: Duration
}

/**
 * The plugin for `config/scale.ts`. Uses the core's Redis connections (`REDIS_URL`), its key
 * prefix and command timeout; TTLs per kind come from `cache.ttl` in the config.
 *
 * @example
 * import cache from '../plugins/cache/index.ts'
 * plugins: [cache({ l1MaxEntries: 20_000, l1MaxBytes: 128 * 1024 * 1024 })]
 */
export default function cache(options: CacheOptions = {}): ScalePlugin {
  let store: RedisCache | undefined
  return {
    manifest: { name: 'cache', core: '^0.1.0', provides: ['cache'], requires: { services: ['redis'] } },
    async setup(ctx) {
      store = createRedisCache({
        redis: ctx.redis!,
        subscriber: ctx.redisSubscriber!(),
        keyPrefix: ctx.config.redis.keyPrefix,
        commandTimeoutMs: ctx.config.redis.commandTimeoutMs,
        l1MaxEntries: options.l1MaxEntries,
        l1MaxBytes: options.l1MaxBytes,
        lockWaitMs: options.lockWait === undefined ? undefined : ms(options.lockWait),
        heartbeatMs: options.heartbeat === undefined ? undefined : ms(options.heartbeat),
        logger: ctx.logger,
        metrics: ctx.metrics,
      })
      await store.ready(ctx.config.redis.commandTimeoutMs * 4)
      return { slots: { cache: store } }
    },
    health: () => store?.health() ?? 'ok',
    // The core stops the slot after the plugins; this only makes an early stop safe.
    stop: () => store?.stop(),
  }
}
