/**
 * The core's Redis connections, opened once when a plugin requires Redis: a command
 * connection, a subscriber opened on first use, and dedicated ones for libraries that need
 * their own. ioredis is imported here, only when this runs.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { ResolvedConfig } from '../config/resolved.ts'
import { ScaleError, quote } from '../errors.ts'
import type { RedisClient, RedisConnections } from '../types.ts'
import { parseRedisUrl, redactRedisUrl } from './url.ts'

export interface OpenRedisOptions {
  logger: Logger
  metrics: Registry
  /** How long start-up waits for the first connection. @default 5000 */
  connectTimeoutMs?: number
}

/** Reconnect quickly but not in a tight loop: 100 ms, 200 ms, ... up to 1 s between attempts. */
const retryStrategy = (times: number) => Math.min(times * 100, 1000)

export async function openRedis(config: ResolvedConfig['redis'], opts: OpenRedisOptions): Promise<RedisConnections> {
  if (!config.url) throw new ScaleError('PLUGIN_MISSING_REQUIREMENT', 'a plugin requires redis; set REDIS_URL (or redis.url)')
  const target = parseRedisUrl(config.url)
  const where = redactRedisUrl(config.url)
  const { Redis, Cluster } = await import('ioredis')
  const { logger } = opts
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000

  const common: RedisOptions = {
    // Every command settles within this, even on a hung or paused server.
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy,
    // Commands issued in the same tick go out in one write: many requests, few syscalls.
    enableAutoPipelining: true,
    lazyConnect: true,
  }

  const make = (): RedisClient => {
    if (target.kind === 'single') return new Redis(target.url, common)
    const tls = target.tls ? {} : undefined
    if (target.kind === 'sentinel') {
      return new Redis({
        ...common,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        username: target.username,
        password: target.password,
        sentinelUsername: target.sentinelUsername,
        sentinelPassword: target.sentinelPassword,
        tls,
        enableTLSForSentinelMode: target.tls,
        sentinelRetryStrategy: retryStrategy,
      })
    }
    const { retryStrategy: _, ...nodeOptions } = common
    return new Cluster(target.nodes, {
      redisOptions: { ...nodeOptions, username: target.username, password: target.password, tls },
      clusterRetryStrategy: retryStrategy,
      enableAutoPipelining: true,
      lazyConnect: true,
    })
  }

  new Gauge({
    name: 'redis_connection_up',
    help: 'Whether each core Redis connection is ready (1) or not (0)',
    labelNames: ['connection'],
    registers: [opts.metrics],
    collect() {
      for (const [name, c] of open) this.set({ connection: name }, c.status === 'ready' ? 1 : 0)
    },
  })
  const reconnects = new Counter({
    name: 'redis_reconnects_total',
    help: 'Reconnection attempts of the core Redis connections',
    labelNames: ['connection'],
    registers: [opts.metrics],
  })
  const errors = new Counter({
    name: 'redis_connection_errors_total',
    help: 'Connection errors of the core Redis connections',
    labelNames: ['connection'],
    registers: [opts.metrics],
  })

  const open = new Map<string, RedisClient>()
  function watch(name: string, c: RedisClient): RedisClient {
    open.set(name, c)
    // Log transitions, not every failed attempt: a Redis that is down for a minute would
    // otherwise write hundreds of identical lines.
    let lost = false
    c.on('error', (err: Error) => {
      errors.inc({ connection: name })
      if (!lost) logger.warn({ redis: where, connection: name, err: err.message }, 'redis connection error')
      lost = true
    })
    c.on('reconnecting', () => {
      reconnects.inc({ connection: name })
      lost = true
    })
    c.on('ready', () => {
      if (lost) logger.info({ redis: where, connection: name }, 'redis connection is back')
      lost = false
    })
    return c
  }

  const client = watch('command', make())
  try {
    await withDeadline(client.connect(), connectTimeoutMs)
  } catch (e) {
    client.disconnect()
    throw new ScaleError(
      'PLUGIN_MISSING_REQUIREMENT',
      `redis at ${quote(where)} could not be reached (${(e as Error).message}; waited up to ${connectTimeoutMs} ms); start it or fix REDIS_URL`,
      { cause: e },
    )
  }
  logger.info({ redis: where, kind: target.kind }, 'redis connected')

  let closing: Promise<void> | undefined
  const extra = (name: string, overrides?: Partial<RedisOptions>): RedisClient => {
    if (closing) throw new Error('redis connections are closed')
    const c =
      client instanceof Cluster
        ? client.duplicate(undefined, overrides ? { redisOptions: { ...overrides } } : undefined)
        : (client as Redis).duplicate(overrides)
    watch(name, c)
    c.connect().catch(() => {}) // errors surface through the 'error' event and the commands
    return c
  }

  return {
    client,
    subscriber() {
      return open.get('subscriber') ?? extra('subscriber')
    },
    dedicated(name, overrides) {
      const key = `dedicated:${name}`
      if (open.has(key)) throw new Error(`a dedicated redis connection named ${quote(name)} is already open`)
      return extra(key, overrides)
    },
    async health() {
      if (client.status !== 'ready') return `degraded: connection ${client.status}`
      try {
        await client.ping()
        return 'ok'
      } catch (e) {
        return `degraded: ${(e as Error).message}`
      }
    },
    close() {
      closing ??= (async () => {
        // Dedicated and subscriber connections were opened last: close them first.
        for (const c of [...open.values()].reverse()) await closeOne(c)
        open.clear()
      })()
      return closing
    },
  }
}

/** QUIT (replies already asked for still arrive), and if the server does not see it through, drop the socket. */
async function closeOne(c: RedisClient): Promise<void> {
  if (c.status === 'end') return
  const ended = new Promise<void>((resolve) => c.once('end', () => resolve()))
  c.quit().catch(() => c.disconnect())
  try {
    await withDeadline(ended, 1000)
  } catch {
    c.disconnect()
    await withDeadline(ended, 500).catch(() => {})
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
