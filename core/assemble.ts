/**
 * The runtime without HTTP: checks plugins, opens Redis and the database, wires slots
 * (plugins first, defaults for the rest), builds the services, the health check and the
 * reply runner. The api (app.ts) composes routes on it; a worker (worker.ts) runs jobs with
 * it and builds no route.
 */
import type { ResolvedConfig } from './config/resolved.ts'
import { migrateDatabase } from './db/migrate.ts'
import { openDatabase, type Database } from './db/open.ts'
import { quote } from './errors.ts'
import { createMemoryCache } from './defaults/memory-cache.ts'
import { createMemoryRateLimiter } from './defaults/memory-rate-limiter.ts'
import { createMemorySessionStore } from './defaults/memory-session.ts'
import { createInProcessDispatch } from './defaults/in-process-dispatch.ts'
import { createPrimaryRouter } from './defaults/primary-router.ts'
import { createStaticPool } from './defaults/static-pool.ts'
import type { AppDeps, HealthReport } from './http/deps.ts'
import { createDrain, type Drain } from './http/drain.ts'
import { createAccess } from './http/access.ts'
import { createGuard } from './http/guard.ts'
import { createProvider, type LlmProvider } from './llm/index.ts'
import { createReplyRunner } from './chat/runner.ts'
import { createChatService, lockTtl } from './chat/service.ts'
import { createLogger, type Logger } from './observability/logger.ts'
import { createDbObservers, registerPoolGauges } from './observability/db-metrics.ts'
import { createMetrics, type HttpMetrics } from './observability/metrics.ts'
import { registerSlotMetrics } from './observability/slot-metrics.ts'
import { blame } from './plugins/blame.ts'
import { checkManifests } from './plugins/check.ts'
import type { ScalePlugin } from './plugins/contract.ts'
import { resolvePlugins } from './plugins/resolve.ts'
import { stopPlugins, wirePlugins, type Wired } from './plugins/wire.ts'
import type { DbPool, JobRunner, Slots } from './ports/index.ts'
import { openRedis } from './redis/connect.ts'
import { detectRuntime } from './runtime/index.ts'
import type { Listening, RuntimeAdapter } from './runtime/adapter.ts'
import { jwtSecret } from './secret.ts'
import { createCachedReads } from './services/cached-reads.ts'
import { createConversationService } from './services/conversations.ts'
import { createIdempotencyService } from './services/idempotency.ts'
import { createSyncService } from './services/sync.ts'
import { createTokenService } from './services/tokens.ts'
import { createUserService } from './services/users.ts'
import type { RedisConnections } from './types.ts'

export interface RuntimeOptions {
  logger?: Logger
  runtime?: RuntimeAdapter
  /** Which process this is: `api` (the default) or `worker` (core/worker.ts). */
  role?: 'api' | 'worker'
}

/** The runtime's parts, before any route. */
export interface Core {
  config: ResolvedConfig
  runtime: RuntimeAdapter
  logger: Logger
  metrics: HttpMetrics
  slots: Slots
  deps: AppDeps
  /** The reply runner given to the llm dispatch; a worker process runs jobs with it. */
  runner: JobRunner
  wired: Wired
  /** The core's Redis connections, when a plugin required Redis. */
  redis?: RedisConnections
  /** The server once the api listens: the client address of a request is its to know. */
  server: { listening?: Listening }
  /** Stop the dispatch, the plugins and the slots, close Redis and the database. */
  stop(): Promise<void>
}

/** Build the runtime's parts from a resolved config; on a failure, what was opened is closed again. */
export async function assembleCore(config: ResolvedConfig, opts: RuntimeOptions = {}): Promise<Core> {
  const logger = opts.logger ?? createLogger(config.logging.level)
  const runtime = opts.runtime ?? (await detectRuntime())
  const metrics = createMetrics()

  const plugins = await resolvePlugins(config.plugins)
  checkManifests(plugins, config)
  const { redis, database } = await openServices(config, plugins, { logger, metrics, runtime })
  const defaultPool = createStaticPool(database, config.database.pool.max)
  const wired = await wirePlugins(plugins, {
    config,
    role: opts.role ?? 'api',
    pool: defaultPool,
    logger,
    metrics: metrics.registry,
    db: database.db,
    postgres: database.postgres,
    ...(redis && { redis: redis.client, redisSubscriber: redis.subscriber, redisConnection: redis.dedicated }),
  }).catch(async (e) => {
    await redis?.close()
    await database.close()
    throw e
  })
  const slots = fillSlots(wired.slots, defaultPool, config, logger)
  registerSlotMetrics(metrics.registry, slots)
  registerPoolGauges(metrics.registry, () => slots.dbPool.stats())

  const server: Core['server'] = {}
  const provider = createProvider(config.llm)
  const drain = createDrain()
  const health = healthCheck({ config, provider, slots, redis, started: wired.started, drain })
  const { deps, runner } = await buildServices(config, { logger, metrics, runtime, slots, server, provider, drain, health })
  await slots.llmDispatch.start(runner)

  return {
    config,
    runtime,
    logger,
    metrics,
    slots,
    deps,
    runner,
    wired,
    redis,
    server,
    async stop() {
      await slots.llmDispatch.stop()
      const errors = await stopPlugins(wired.started)
      for (const s of [slots.session, slots.rateLimit, slots.cache]) await s.stop?.()
      await redis?.close()
      await slots.dbRouter.stop?.()
      await slots.dbPool.close()
      await database.close()
      for (const e of errors) logger.error({ err: e }, 'plugin stop failed')
    },
  }
}

/**
 * Redis, opened once and only when a plugin asks for it (ioredis is imported only then),
 * and before the database: an unreachable Redis fails start-up within its connect bound
 * instead of after the embedded database's start. Then the database, migrated when asked.
 */
async function openServices(
  config: ResolvedConfig,
  plugins: ScalePlugin[],
  parts: { logger: Logger; metrics: HttpMetrics; runtime: RuntimeAdapter },
): Promise<{ redis?: RedisConnections; database: Database }> {
  let redis: RedisConnections | undefined
  const needRedis = plugins.filter((p) => p.manifest.requires?.services?.includes('redis')).map((p) => p.manifest.name)
  if (needRedis.length) {
    redis = await openRedis(config.redis, { logger: parts.logger, metrics: parts.metrics.registry }).catch(async (e) => {
      const who = `${needRedis.length > 1 ? 'plugins' : 'plugin'} ${needRedis.map(quote).join(', ')} ${needRedis.length > 1 ? 'require' : 'requires'} redis`
      throw blame(who, e, 'PLUGIN_MISSING_REQUIREMENT', 'which could not be opened')
    })
  }
  const observers = createDbObservers({
    registry: parts.metrics.registry,
    logger: parts.logger,
    slowQueryMs: config.database.pool.slowQueryMs,
  })
  const database = await openDatabase(config.database, observers).catch(async (e) => {
    await redis?.close()
    throw e
  })
  try {
    if (config.database.migrate) await migrateDatabase(database)
  } catch (e) {
    await database.close()
    await redis?.close()
    throw e
  }
  // PGlite's start (initdb on a new folder, the WebAssembly instance) leaves 500-800 MiB of
  // garbage that a small JS heap never triggers a collection for: an idle runtime held it.
  if (database.driver === 'pglite') parts.runtime.collectGarbage()
  return { redis, database }
}

/** The slots: what plugins filled, the core's default for each other one. */
function fillSlots(fromPlugins: Partial<Slots>, defaultPool: DbPool, config: ResolvedConfig, logger: Logger): Slots {
  const dbPool = fromPlugins.dbPool ?? defaultPool
  return {
    session: fromPlugins.session ?? createMemorySessionStore({ ttlMs: 86_400_000 }),
    rateLimit: fromPlugins.rateLimit ?? createMemoryRateLimiter(),
    cache: fromPlugins.cache ?? createMemoryCache(),
    dbPool,
    dbRouter: fromPlugins.dbRouter ?? createPrimaryRouter(dbPool),
    llmDispatch:
      fromPlugins.llmDispatch ??
      createInProcessDispatch({
        concurrency: config.llm.concurrency,
        maxQueued: config.llm.maxQueued,
        eventRetentionMs: config.llm.eventRetentionMs,
        // Clients see INTERNAL for these; the cause belongs in the log.
        onError: (err, jobId) => logger.error({ err, jobId }, 'reply job failed'),
      }),
  }
}

/** The services on the slots (what routes are built from) and the reply runner. */
async function buildServices(
  config: ResolvedConfig,
  parts: Pick<AppDeps, 'logger' | 'metrics' | 'slots' | 'provider' | 'drain' | 'health'> & {
    runtime: RuntimeAdapter
    server: Core['server']
  },
): Promise<{ deps: AppDeps; runner: JobRunner }> {
  const { logger, metrics, slots, provider } = parts
  const secret = await jwtSecret(config, logger)
  const reads = createCachedReads(slots.cache, config.cache)
  const users = createUserService(slots.dbRouter, parts.runtime, reads)
  const tokens = createTokenService(config.auth, secret, { isActive: (id) => users.isActive(id) })
  const access = createAccess({
    config,
    tokens,
    limiter: slots.rateLimit,
    refused: metrics.rateLimited,
    session: slots.session,
    // The socket peer is a runtime fact: the adapter that received the request knows it.
    clientAddress: (request) => parts.server.listening?.clientAddress(request),
  })
  const conversations = createConversationService(slots.dbRouter, reads)
  const idempotency = createIdempotencyService(slots.dbRouter)
  const chat = createChatService({ config, session: slots.session, dispatch: slots.llmDispatch, conversations, idempotency, logger })
  const runner = createReplyRunner({
    provider,
    conversations,
    session: slots.session,
    bufferTurns: config.llm.bufferTurns,
    lockTtlMs: lockTtl(config),
    logger,
  })
  const deps: AppDeps = {
    config,
    logger,
    metrics,
    slots,
    tokens,
    users,
    conversations,
    sync: createSyncService(slots.dbRouter),
    chat,
    access,
    guard: createGuard(access),
    provider,
    health: parts.health,
    drain: parts.drain,
  }
  return { deps, runner }
}

/** `/health/ready`'s report: the provider, the database, Redis and each plugin that has a health check, each within 2 s. */
function healthCheck(parts: {
  config: ResolvedConfig
  provider: LlmProvider
  slots: Slots
  redis?: RedisConnections
  started: ScalePlugin[]
  drain: Drain
}): () => Promise<HealthReport> {
  const { config, provider, slots, redis, started, drain } = parts
  return async () => {
    const checks: Record<string, string> = {}
    checks.llm =
      config.llm.provider === 'fake' ? 'ok: fake provider (offline; no ANTHROPIC_API_KEY set)' : `ok: ${provider.name} ${provider.model}`
    checks.database = await withTimeout(
      slots.dbRouter
        .write()
        .execute('select 1')
        .then(() => 'ok'),
      2000,
    )
    if (redis) checks.redis = await withTimeout(redis.health(), 2000)
    for (const p of started) {
      if (!p.health) continue
      checks[p.manifest.name] = await withTimeout(
        Promise.resolve(p.health()).then((r) => (r === 'ok' ? 'ok' : r.detail ? `${r.status}: ${r.detail}` : r.status)),
        2000,
      )
    }
    const down = Object.values(checks).some((c) => !c.startsWith('ok') && !c.startsWith('degraded'))
    return { status: drain.draining ? 'draining' : down ? 'not_ready' : 'ready', checks }
  }
}

async function withTimeout(p: Promise<string>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<string>((r) => {
    timer = setTimeout(() => r(`down: no answer in ${ms} ms`), ms)
  })
  try {
    return await Promise.race([p.catch((e: Error) => `down: ${e.message}`), timeout])
  } finally {
    clearTimeout(timer)
  }
}
