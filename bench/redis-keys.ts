/** Remove a bench run's Redis keys: every key under `prefix` (SCAN, then DEL in pages). */
import type { Redis } from 'ioredis'

export async function dropKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}
