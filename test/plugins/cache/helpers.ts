/** The cache plugin for tests: instances on their own connections, and a view of two instances as one cache. */
import type { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import type { Cache } from '../../../core/ports/cache.ts'
import { createRedisCache, type RedisCache, type RedisCacheOptions } from '../../../plugins/cache/index.ts'
import { connectRedis } from '../../redis/redis.ts'

export interface TestInstance {
  cache: RedisCache
  redis: Redis
  subscriber: Redis
  metrics: Registry
  stop(): Promise<void>
}

/** One cache instance with its own command and subscriber connections, as a process would have. */
export async function cacheInstance(url: string, keyPrefix: string, extra: Partial<RedisCacheOptions> = {}): Promise<TestInstance> {
  const commandTimeoutMs = extra.commandTimeoutMs ?? 500
  const redis = await connectRedis(url, commandTimeoutMs)
  const subscriber = await connectRedis(url, commandTimeoutMs)
  const metrics = new Registry()
  const cache = createRedisCache({ redis, subscriber, keyPrefix, commandTimeoutMs, metrics, heartbeatMs: 200, ...extra })
  await cache.ready(5000)
  let stopped = false
  return {
    cache,
    redis,
    subscriber,
    metrics,
    async stop() {
      if (stopped) return
      stopped = true
      await cache.stop()
      redis.disconnect()
      subscriber.disconnect()
    },
  }
}

/** Two instances seen as one cache: each call goes to the next instance in turn. */
export function alternating(a: Cache, b: Cache, stopAll: () => Promise<void>): Cache {
  let turn = 0
  const next = () => (turn++ % 2 === 0 ? a : b)
  return {
    wrap: (key, ttl, tags, load, o) => next().wrap(key, ttl, tags, load, o),
    get: (key) => next().get(key),
    set: (key, value, ttl, tags) => next().set(key, value, ttl, tags),
    delete: (key) => next().delete(key),
    invalidate: (tags) => next().invalidate(tags),
    stats() {
      const [x, y] = [a.stats!(), b.stats!()]
      return { hits: x.hits + y.hits, misses: x.misses + y.misses, size: x.size + y.size }
    },
    stop: stopAll,
  }
}

/** The value of one sample of a metric in a registry (0 when absent). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[]
  return values.filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)).reduce((s, v) => s + v.value, 0)
}
