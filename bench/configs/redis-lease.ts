/**
 * As `redis.ts`, with the api group on leases: 100 units taken from Redis at a time and
 * spent in process, so about one request in a hundred makes a Redis round trip.
 */
import rateLimitRedis from '../../plugins/ratelimit-redis/index.ts'
import sessionRedis from '../../plugins/session-redis/index.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ plugins: [sessionRedis(), rateLimitRedis({ lease: { groups: ['api'], batch: 100, ttl: '1 s' } })] })
