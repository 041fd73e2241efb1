/**
 * The Redis rate limiter: one atomic Lua script per check (sliding window counter, time
 * from Redis), denials remembered in process, a breaker and a fallback policy for when Redis
 * is down or slow, and optional leases for routes that accept bounded over-admission.
 */
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import {
  createBreaker,
  createMemoryRateLimiter,
  loadScript,
  ms,
  runScript,
  ScaleError,
  taggedKey,
  type ConsumeOptions,
  type Duration,
  type HealthResult,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitRule,
  type RedisClient,
} from 'scale-runtime/plugin'
import { createDenyCache } from './deny-cache.ts'
import { createLeases, type Taken } from './lease.ts'

/** What a check does while Redis is unreachable or slower than `redis.commandTimeout`. */
export type FailurePolicy = 'open' | 'closed' | 'local'

export interface LeaseConfig {
  /** Route groups served from leases (e.g. `['api', 'sync']`); others stay exact. */
  groups: string[]
  /** Units taken from Redis at a time. @default 10 */
  batch?: number
  /** How long leased units may be spent; unspent ones are then dropped. @default '1 s' */
  ttl?: Duration
}

export interface RateLimitRedisOptions {
  /**
   * While Redis is down or slow: `open` allows, `closed` refuses with 503 OVERLOADED and
   * Retry-After, `local` hands the check to a per-instance memory limiter with the same rule
   * (so N instances admit up to N × limit).
   * @default 'local'
   */
  fallback?: FailurePolicy
  /** Per route group, overriding `fallback`. @example { chat: 'closed', anonymous: 'local' } */
  fallbackByGroup?: Record<string, FailurePolicy>
  breaker?: {
    /** Failed or timed-out checks in a row that stop calls to Redis. @default 3 */
    failures?: number
    /** How often a stopped breaker pings Redis to come back. @default '1 s' */
    probeInterval?: Duration
  }
  /** Clients over their limit remembered in process, answered without Redis. 0 turns it off. @default 10_000 */
  denyCacheSize?: number
  /** Lease mode for some route groups. @default off */
  lease?: LeaseConfig
}

export interface RedisRateLimiterOptions extends RateLimitRedisOptions {
  redis: RedisClient
  /** @default 'scale:' */
  keyPrefix?: string
  logger?: Logger
  /** Where the plugin's metrics go. @default none (not exported) */
  metrics?: Registry
}

const script = loadScript(new URL('./lua/sliding-window.lua', import.meta.url))

/**
 * @example
 * const limiter = createRedisRateLimiter({ redis, keyPrefix: 'app:', fallback: 'local', fallbackByGroup: { chat: 'closed' } })
 * const d = await limiter.consume(`u:${userId}:api`, { limit: 600, windowMs: 60_000 }, { group: 'api' })
 */
export function createRedisRateLimiter(opts: RedisRateLimiterOptions): RateLimiter & { health(): HealthResult } {
  const { redis, logger } = opts
  const prefix = opts.keyPrefix ?? 'scale:'
  const fallbackDefault = opts.fallback ?? 'local'
  const byGroup = opts.fallbackByGroup ?? {}
  for (const p of [fallbackDefault, ...Object.values(byGroup)]) {
    if (p !== 'open' && p !== 'closed' && p !== 'local')
      throw new RangeError(`fallback must be 'open', 'closed' or 'local', got ${String(p)}`)
  }
  const probeIntervalMs = ms(opts.breaker?.probeInterval ?? '1 s')
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`)
  }
  positive('lease.batch', opts.lease?.batch)
  positive('breaker.failures', opts.breaker?.failures)
  const registers = opts.metrics ? [opts.metrics] : []
  const m = {
    fallbacks: new Counter({
      name: 'ratelimit_redis_fallback_total',
      help: 'Rate-limit checks decided without Redis, by fallback policy',
      labelNames: ['policy'],
      registers,
    }),
    errors: new Counter({
      name: 'ratelimit_redis_errors_total',
      help: 'Rate-limit checks whose Redis call failed or timed out',
      registers,
    }),
    cached: new Counter({ name: 'ratelimit_redis_cached_denials_total', help: 'Denials answered from the in-process cache', registers }),
    open: new Gauge({
      name: 'ratelimit_redis_breaker_open',
      help: '1 while the breaker keeps rate-limit checks away from Redis',
      registers,
    }),
  }

  const local = createMemoryRateLimiter()
  const denials = createDenyCache(opts.denyCacheSize ?? 10_000)
  const breaker = createBreaker({
    failures: opts.breaker?.failures ?? 3,
    probeIntervalMs,
    connected: () => redis.status === 'ready',
    probe: () => redis.ping(),
    onChange(open, why) {
      m.open.set(open ? 1 : 0)
      if (open)
        logger?.warn(
          { why, fallback: fallbackDefault, fallbackByGroup: byGroup },
          'rate limits: redis unavailable, using the fallback policy',
        )
      else logger?.info({ why }, 'rate limits: back on redis')
    },
  })

  async function take(key: string, rule: RateLimitRule, cost: number, least: number): Promise<Taken> {
    const r = await runScript<number[]>(redis, script, [taggedKey(prefix, 'rl', key)], [rule.limit, rule.windowMs, cost, least])
    // Relative times from the script, made absolute on our clock: no skew between the two.
    const now = Date.now()
    return { allowed: r[0] === 1, taken: r[1]!, limit: rule.limit, remaining: r[2]!, resetAt: now + r[3]!, retryAfterMs: r[4]! }
  }

  const leaseGroups = new Set(opts.lease?.groups ?? [])
  const leases = opts.lease
    ? createLeases({ batch: opts.lease.batch ?? 10, ttlMs: ms(opts.lease.ttl ?? '1 s'), maxKeys: 100_000 }, take)
    : undefined

  function fallback(key: string, rule: RateLimitRule, group: string, cost: number): Promise<RateLimitDecision> {
    const policy = byGroup[group] ?? fallbackDefault
    m.fallbacks.inc({ policy })
    if (policy === 'local') return local.consume(key, rule, { group, cost })
    if (policy === 'open') {
      return Promise.resolve({
        allowed: true,
        limit: rule.limit,
        remaining: Math.max(0, rule.limit - cost),
        resetAt: Date.now(),
        retryAfterMs: 0,
      })
    }
    const retryAfter = String(Math.max(1, Math.ceil(probeIntervalMs / 1000)))
    return Promise.reject(
      new ScaleError('OVERLOADED', `rate limits cannot be checked right now (redis unavailable); retry in ${retryAfter} s`, {
        headers: { 'retry-after': retryAfter },
      }),
    )
  }

  function check(rule: RateLimitRule, cost: number): void {
    const { limit, windowMs } = rule
    if (
      !(Number.isInteger(windowMs) && windowMs > 0) ||
      !(Number.isInteger(limit) && limit >= 0) ||
      !(Number.isInteger(cost) && cost >= 0)
    ) {
      throw new RangeError(
        `rate limit needs an integer windowMs > 0, limit >= 0 and cost >= 0, got windowMs ${windowMs}, limit ${limit}, cost ${cost}`,
      )
    }
  }

  /** A cached denial, or a unit from a lease held now; undefined when Redis must be asked. */
  function consumeNow(key: string, rule: RateLimitRule, options?: ConsumeOptions): RateLimitDecision | undefined {
    const cost = options?.cost ?? 1
    check(rule, cost)
    const cached = denials.get(key, rule, cost, Date.now())
    if (cached) {
      m.cached.inc()
      return cached
    }
    if (!leases || cost !== 1 || !leaseGroups.has(options?.group ?? 'default') || !breaker.allows()) return undefined
    return leases.consumeNow(key, rule)
  }

  let stopped = false
  return {
    consumeNow,

    async consume(key, rule, options) {
      const now = consumeNow(key, rule, options)
      if (now) return now
      const cost = options?.cost ?? 1
      const group = options?.group ?? 'default'
      if (!breaker.allows()) return fallback(key, rule, group, cost)
      let d: RateLimitDecision
      try {
        d = leases && cost === 1 && leaseGroups.has(group) ? await leases.consume(key, rule) : await take(key, rule, cost, cost)
      } catch (e) {
        m.errors.inc()
        breaker.failure(e)
        return fallback(key, rule, group, cost)
      }
      breaker.success()
      if (!d.allowed) denials.remember(key, rule, cost, d, Date.now())
      return d
    },

    async reset(key) {
      denials.forget(key)
      leases?.forget(key)
      await local.reset(key)
      await redis.del(taggedKey(prefix, 'rl', key))
    },

    health() {
      if (!breaker.isOpen()) return 'ok'
      const groups = Object.entries(byGroup).map(([g, p]) => `, ${g}: ${p}`)
      return { status: 'degraded', detail: `redis unavailable; checks use the fallback (${fallbackDefault}${groups.join('')})` }
    },

    async stop() {
      if (stopped) return
      stopped = true
      breaker.stop()
      denials.clear()
      leases?.clear()
      await local.stop?.()
    },
  }
}
