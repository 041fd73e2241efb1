/** Redis for tests: a connection to the shared test server and a key prefix unique to this run. */
import { afterAll, beforeAll } from 'bun:test'
import type { Redis } from 'ioredis'
import { REDIS_URL } from '../helpers/services.ts'

/** Unique per test file and run, so runs sharing one Redis never see each other's keys. */
export const uniquePrefix = (label: string) => `test:${label}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`

export async function connectRedis(url = REDIS_URL, commandTimeout = 2000): Promise<Redis> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, { lazyConnect: true, commandTimeout, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 100, 500) })
  redis.on('error', () => {})
  await redis.connect()
  return redis
}

/** Every key under `prefix` (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    out.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return out
}

/** Keys under `prefix` that would live forever (PTTL -1). */
export async function keysWithoutTtl(redis: Redis, prefix: string): Promise<string[]> {
  const keys = await keysUnder(redis, prefix)
  const ttls = await Promise.all(keys.map((k) => redis.pttl(k)))
  return keys.filter((_, i) => ttls[i] === -1)
}

export async function dropKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix)
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
}

/**
 * The shared test Redis for the enclosing describe, for keys under `prefix` (see
 * {@link uniquePrefix}): it connects before the tests and, after them, drops every key under
 * the prefix and disconnects. Hooks run in the order they are declared: declare instances
 * that write under the prefix (and their stop) before calling this.
 */
export function useSharedRedis(prefix: string): { readonly redis: Redis } {
  let redis: Redis | undefined
  beforeAll(async () => {
    redis = await connectRedis()
  })
  afterAll(async () => {
    if (!redis) return
    await dropKeys(redis, prefix)
    redis.disconnect()
  })
  return {
    get redis() {
      if (!redis) throw new Error('the shared Redis is connected in beforeAll; use it inside a test or hook')
      return redis
    },
  }
}
