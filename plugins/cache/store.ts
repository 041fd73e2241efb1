/**
 * The cache slot on two levels: a bounded L1 in this process in front of Redis (L2), tag
 * versions in Redis for cluster-wide invalidation, a lock per key for cluster-wide single
 * flight, and pass-through to the loader whenever Redis is slow or down. README.md beside
 * this file states the guarantees.
 */
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import {
  createBreaker,
  loadScript,
  runScript,
  type Cache,
  type HealthResult,
  type RedisClient,
  type WrapOptions,
} from 'scale-runtime/plugin'
import { createInvalidations } from './invalidations.ts'
import { L1 } from './l1.ts'
import { createLink } from './link.ts'
import { createCacheMetrics } from './metrics.ts'
import { createWaiters, decodeResult, encodeResult } from './waiters.ts'

const READ = loadScript(new URL('./lua/read.lua', import.meta.url))
const FILL = loadScript(new URL('./lua/fill.lua', import.meta.url))

export interface RedisCacheOptions {
  redis: RedisClient
  /** A connection this cache may subscribe on (the core's shared subscriber). */
  subscriber: RedisClient
  keyPrefix: string
  /** The core's `redis.commandTimeout`: the longest the cache waits on Redis for a request. */
  commandTimeoutMs: number
  /** Most entries in L1. @default 10000 */
  l1MaxEntries?: number
  /** Most bytes of serialised values in L1. @default 64 MiB */
  l1MaxBytes?: number
  /** How long a miss waits for another instance's load of the same key before loading itself. @default 1000 */
  lockWaitMs?: number
  /** How often the pub/sub connection is checked. @default 1000 */
  heartbeatMs?: number
  logger?: Logger
  metrics?: Registry
}

export interface RedisCache extends Cache {
  /** Resolves once subscribed to invalidations (L1 is off until then), or after `ms`. */
  ready(ms: number): Promise<void>
  health(): HealthResult
  stop(): Promise<void>
}

interface Flight {
  promise: Promise<unknown>
  tags: readonly string[]
  stale: boolean
}

/** One day: tag versions outlive every entry (TTL plus stale grace is capped to it). */
const VERSION_TTL_MS = 86_400_000

/**
 * @example
 * const cache = createRedisCache({ redis, subscriber, keyPrefix: 'scale:', commandTimeoutMs: 500 })
 * await cache.wrap(`user:${id}`, 60_000, [`user:${id}`], () => users.find(id))
 */
export function createRedisCache(opts: RedisCacheOptions): RedisCache {
  const { redis, logger } = opts
  const lockWaitMs = opts.lockWaitMs ?? 1000
  const lockTtlMs = Math.max(2 * lockWaitMs, 2000)
  const instance = crypto.randomUUID()
  // One hash tag for the whole cache: scripts read an entry's tag versions, which live in
  // other keys, so on Redis Cluster every cache key must sit in one slot.
  const base = `${opts.keyPrefix}cache:{c}:`
  const versionPrefix = `${base}t:`
  const channel = `${opts.keyPrefix}cache:events`
  // Each instance acknowledges an invalidation on the sender's own channel once its L1 copies are gone.
  const ackChannel = (id: string) => `${channel}:ack:${id}`
  const entryKey = (key: string) => `${base}e:${key}`
  const lockKey = (key: string) => `${base}l:${key}`
  const resultKey = (key: string, token: string) => `${base}r:${key}:${token}`

  const l1 = new L1({ maxEntries: opts.l1MaxEntries ?? 10_000, maxBytes: opts.l1MaxBytes ?? 64 * 1024 * 1024 })
  const m = createCacheMetrics(opts.metrics, l1)
  const flights = new Map<string, Flight>()
  let hits = 0
  let misses = 0
  let stopped = false

  const breaker = createBreaker({
    failures: 1,
    probeIntervalMs: 500,
    connected: () => redis.status === 'ready',
    probe: () => redis.ping(),
    onChange(open, why) {
      if (open) {
        m.outages.inc({ part: 'redis' })
        logger?.warn({ why }, 'cache: redis unreachable; reads go to the database and L1 is off until it answers')
      } else {
        logger?.info('cache: redis answers again')
        void invalidations.flush()
      }
      switchL1()
    },
  })
  const link = createLink({
    subscriber: opts.subscriber,
    channels: [channel, ackChannel(instance)],
    heartbeatMs: opts.heartbeatMs ?? 1000,
    onMessage,
    onChange(up, why) {
      if (!up) {
        m.outages.inc({ part: 'pubsub' })
        logger?.warn({ why }, 'cache: pub/sub down; L1 is bypassed and emptied until it is back')
      } else logger?.info({ why }, 'cache: pub/sub up')
      switchL1()
    },
  })
  const invalidations = createInvalidations({
    redis,
    channel,
    instance,
    versionKeys: (tags) => versionKeys(tags),
    versionTtlMs: VERSION_TTL_MS,
    waitMs: opts.commandTimeoutMs,
    allows: () => breaker.allows(),
    succeeded: () => breaker.success(),
    failed: redisFailed,
    listening: () => link.up,
    unacknowledged: () => m.unacknowledged.inc(),
  })
  const waiters = createWaiters({
    read: (key, token) => redis.get(resultKey(key, token)),
    allows: () => breaker.allows(),
    failed: redisFailed,
    waitMs: lockWaitMs,
  })

  /** L1 is trusted only while both the commands and the invalidation messages get through. */
  function switchL1() {
    const want = link.up && !breaker.isOpen()
    if (want !== l1.enabled) l1.enable(want)
  }

  function redisFailed(e: unknown) {
    m.redisFailures.inc()
    breaker.failure(e)
  }

  function onMessage(ch: string, raw: string) {
    if (ch !== channel) return invalidations.acknowledged(Number(raw))
    let msg: { i?: string; n?: number; t?: string[]; k?: string; f?: string; o?: string }
    try {
      msg = JSON.parse(raw)
    } catch {
      return
    }
    if (msg.t) {
      l1.dropTags(msg.t)
      supersede((f) => f.tags.some((t) => msg.t!.includes(t)))
      if (msg.i === instance) invalidations.acknowledged(msg.n!)
      else if (msg.i !== undefined) redis.publish(ackChannel(msg.i), String(msg.n)).catch(() => {})
    } else if (msg.k !== undefined && msg.i !== instance) {
      l1.forget(msg.k)
      supersede((_, key) => key === msg.k)
    } else if (msg.f !== undefined && msg.o !== undefined) waiters.notify(msg.f, msg.o)
  }

  /** Detach matching loads in flight: their results still answer their callers, but are not stored in L1 and not joined. */
  function supersede(match: (f: Flight, key: string) => boolean) {
    for (const [key, f] of flights) {
      if (!match(f, key)) continue
      f.stale = true
      flights.delete(key)
    }
  }

  const versionKeys = (tags: readonly string[]) => tags.map((t) => versionPrefix + t)
  const tagsOf = (stored: string) => stored.split('\n').filter((_, i) => i % 2 === 0 && stored !== '')

  function fill(
    key: string,
    token: string,
    json: string,
    ttlMs: number,
    staleMs: number,
    result: string,
    tags: readonly string[],
    versions: string[] | undefined,
  ) {
    const pairs = tags.flatMap((t, i) => [t, versions?.[i] ?? '0'])
    // A load tells its waiters; a set() tells every instance to drop its L1 copy of the key.
    const note = token ? JSON.stringify({ f: key, o: token }) : versions ? '' : JSON.stringify({ i: instance, k: key })
    return runScript<number>(
      redis,
      FILL,
      [entryKey(key), lockKey(key), resultKey(key, token || 'none'), ...versionKeys(tags)],
      [token, json, ttlMs, staleMs, result, lockTtlMs, channel, note, versions ? '1' : '0', VERSION_TTL_MS, ...pairs],
    )
  }

  async function loadAndFill<T>(
    key: string,
    ttlMs: number,
    staleMs: number,
    tags: readonly string[],
    load: () => Promise<T>,
    token: string,
    versions: string[],
    flight: Flight | undefined,
    generation: number,
  ): Promise<T> {
    let value: T
    try {
      value = await load()
    } catch (e) {
      if (token) fill(key, token, '', ttlMs, staleMs, encodeResult(e, true), tags, versions).catch(redisFailed)
      throw e
    }
    const json = value === undefined ? '' : JSON.stringify(value)
    // Not awaited: the caller has its value, and commands on one connection run in order,
    // so this instance's next read of the key already sees the fill.
    fill(key, token, json, ttlMs, staleMs, token ? encodeResult(value, false, json) : '', tags, versions).then((stored) => {
      if (stored === 1 && flight !== undefined && !flight.stale) l1.set(key, value, json.length, ttlMs, tags, generation)
    }, redisFailed)
    return value
  }

  async function lookup<T>(
    key: string,
    ttlMs: number,
    tags: readonly string[],
    load: () => Promise<T>,
    kind: string,
    staleMs: number,
    flight: Flight,
  ): Promise<T> {
    if (!breaker.allows()) {
      misses++
      m.load(kind, 'pass_through')
      return load()
    }
    const generation = l1.generation
    const token = crypto.randomUUID()
    let reply: (string | number)[]
    try {
      reply = await runScript<(string | number)[]>(
        redis,
        READ,
        [entryKey(key), lockKey(key), ...versionKeys(tags)],
        [versionPrefix, token, lockTtlMs],
      )
      breaker.success()
    } catch (e) {
      redisFailed(e)
      misses++
      m.load(kind, 'pass_through')
      return load()
    }
    const [hit, holder, json, fresh, stored, ...versions] = reply as [number, string, string, number, string, ...string[]]
    if (hit === 1) {
      hits++
      m.hit('l2', kind)
      const value = JSON.parse(json) as T
      if (fresh > 0 && !flight.stale) l1.set(key, value, json.length, Math.min(fresh, ttlMs), tagsOf(stored), generation)
      if (holder === token) {
        m.load(kind, 'refresh')
        loadAndFill(key, ttlMs, staleMs, tags, load, token, versions, undefined, generation).catch(() => {})
      }
      return value
    }
    misses++
    m.miss('l2', kind)
    if (holder !== token && holder !== '') {
      const result = await waiters.wait(key, holder)
      if (result !== undefined) {
        m.waited(kind)
        return decodeResult(result) as T
      }
      m.load(kind, 'after_wait')
      return loadAndFill(key, ttlMs, staleMs, tags, load, '', versions, flight, generation)
    }
    m.load(kind, 'owner')
    return loadAndFill(key, ttlMs, staleMs, tags, load, token, versions, flight, generation)
  }

  async function remove(key: string): Promise<void> {
    supersede((_, k) => k === key)
    l1.forget(key)
    if (!breaker.allows()) return
    await redis
      .multi()
      .del(entryKey(key))
      .publish(channel, JSON.stringify({ i: instance, k: key }))
      .exec()
      .then(() => breaker.success(), redisFailed)
  }

  return {
    async wrap<T>(key: string, ttlMs: number, tags: string[], load: () => Promise<T>, o: WrapOptions = {}): Promise<T> {
      const kind = o.kind ?? (key.slice(0, Math.max(0, key.indexOf(':'))) || 'other')
      const hit = l1.get(key)
      if (hit !== undefined) {
        hits++
        m.hit('l1', kind)
        return hit.value as T
      }
      if (l1.enabled) m.miss('l1', kind)
      const joined = flights.get(key)
      if (joined !== undefined) return joined.promise as Promise<T>
      const staleMs = Math.min(o.staleMs ?? 0, VERSION_TTL_MS / 2)
      const flight: Flight = { promise: undefined as never, tags: [...tags], stale: false }
      flights.set(key, flight)
      flight.promise = lookup(key, Math.min(ttlMs, VERSION_TTL_MS / 2), flight.tags, load, kind, staleMs, flight).finally(() => {
        if (flights.get(key) === flight) flights.delete(key)
      })
      return flight.promise as Promise<T>
    },

    async get<T>(key: string): Promise<T | undefined> {
      const hit = l1.get(key)
      if (hit !== undefined) {
        hits++
        return hit.value as T
      }
      misses++
      if (!breaker.allows()) return undefined
      const generation = l1.generation
      try {
        const [found, , json, fresh, stored] = await runScript<(string | number)[]>(
          redis,
          READ,
          [entryKey(key), lockKey(key)],
          [versionPrefix, '', lockTtlMs],
        )
        breaker.success()
        if (found !== 1) return undefined
        misses--
        hits++
        const value = JSON.parse(json as string) as T
        if ((fresh as number) > 0) l1.set(key, value, (json as string).length, fresh as number, tagsOf(stored as string), generation)
        return value
      } catch (e) {
        redisFailed(e)
        return undefined
      }
    },

    async set<T>(key: string, value: T, ttlMs: number, tags: string[] = []): Promise<void> {
      if (value === undefined || !(ttlMs > 0)) return remove(key)
      supersede((_, k) => k === key)
      l1.forget(key)
      if (!breaker.allows()) return
      await fill(key, '', JSON.stringify(value), Math.min(ttlMs, VERSION_TTL_MS / 2), 0, '', tags, undefined).then(
        () => breaker.success(),
        redisFailed,
      )
    },

    delete: remove,

    async invalidate(tags: string[]): Promise<void> {
      if (tags.length === 0) return
      m.invalidations.inc(tags.length)
      l1.dropTags(tags)
      supersede((f) => f.tags.some((t) => tags.includes(t)))
      await invalidations.send(tags)
    },

    stats: () => ({ hits, misses, size: l1.size }),

    ready: (ms) => link.ready(ms),

    health(): HealthResult {
      if (breaker.isOpen() || redis.status !== 'ready') return { status: 'degraded', detail: 'redis unreachable: reads go to the database' }
      if (!link.up) return { status: 'degraded', detail: 'pub/sub down: L1 bypassed' }
      return 'ok'
    },

    async stop() {
      if (stopped) return
      stopped = true
      breaker.stop()
      waiters.stop()
      supersede(() => true)
      l1.enable(false)
      await link.stop()
    },
  }
}
