/** The runtime with the shared state on Redis (exact rate limits: one script per request); REDIS_URL and REDIS_KEY_PREFIX come from the stack. */
import rateLimitRedis from '../../plugins/ratelimit-redis/index.ts'
import sessionRedis from '../../plugins/session-redis/index.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ plugins: [sessionRedis(), rateLimitRedis()] })
