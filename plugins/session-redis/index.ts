/**
 * `session-redis`: the session slot on Redis, so a session, a conversation buffer or a reply
 * lock taken on one instance is seen by all. See README.md beside this file.
 */
import { ms, type Duration, type ScalePlugin } from 'scale-runtime/plugin'
import { createRedisSessionStore } from './store.ts'

export { createRedisSessionStore, type RedisSessionStoreOptions } from './store.ts'

export interface SessionRedisOptions {
  /** Sliding TTL of sessions and conversation buffers (each read or write restarts it). @default '1 d' */
  ttl?: Duration
  /**
   * Read each request's session in the same round trip as its rate-limit check, for setups
   * that read the session on most requests (replica-router with write marks in the session).
   * @default false
   */
  readAhead?: boolean
}

/**
 * The plugin for `config/scale.ts`. Uses the core's Redis connection (`REDIS_URL`), its key
 * prefix and command timeout.
 *
 * @default ttl '1 d'
 * @example
 * import sessionRedis from '../plugins/session-redis/index.ts'
 * plugins: [sessionRedis({ ttl: '12 h' })]
 */
export default function sessionRedis(options: SessionRedisOptions = {}): ScalePlugin {
  const ttlMs = ms(options.ttl ?? '1 d')
  return {
    manifest: { name: 'session-redis', core: '^0.1.0', provides: ['session'], requires: { services: ['redis'] } },
    setup: (ctx) => ({
      slots: { session: createRedisSessionStore({ redis: ctx.redis!, keyPrefix: ctx.config.redis.keyPrefix, ttlMs, readAhead: options.readAhead }) },
    }),
  }
}
