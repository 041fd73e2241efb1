/**
 * The configured cache plugin on its own, for operator commands that write outside a
 * running api (`set-tier`): their writes must invalidate what every instance has cached.
 */
import type { ResolvedConfig } from '../config/resolved.ts'
import type { Database } from '../db/open.ts'
import { createLogger } from '../observability/logger.ts'
import { createMetrics } from '../observability/metrics.ts'
import type { Cache } from '../ports/cache.ts'
import { openRedis } from '../redis/connect.ts'
import { resolvePlugins } from './resolve.ts'
import { stopPlugins, wirePlugins } from './wire.ts'

export interface CacheOnly {
  /** The plugin's cache, or undefined when the config has none (each api then caches in its own memory). */
  cache?: Cache
  close(): Promise<void>
}

export async function openCacheOnly(config: ResolvedConfig, database: Database): Promise<CacheOnly> {
  const plugins = (await resolvePlugins(config.plugins)).filter((p) => p.manifest.provides?.includes('cache'))
  if (plugins.length === 0) return { close: async () => {} }
  const logger = createLogger('warn')
  const metrics = createMetrics().registry
  const redis = plugins.some((p) => p.manifest.requires?.services?.includes('redis'))
    ? await openRedis(config.redis, { logger, metrics })
    : undefined
  const wired = await wirePlugins(plugins, {
    config,
    logger,
    metrics,
    db: database.db,
    postgres: database.postgres,
    ...(redis && { redis: redis.client, redisSubscriber: redis.subscriber, redisConnection: redis.dedicated }),
  }).catch(async (e) => {
    await redis?.close()
    throw e
  })
  return {
    cache: wired.slots.cache,
    async close() {
      await stopPlugins(wired.started)
      await wired.slots.cache?.stop?.()
      await redis?.close()
    },
  }
}
