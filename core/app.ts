/**
 * Builds a runtime from a resolved config: checks plugins, opens the database, wires slots
 * (plugins first, defaults for the rest), mounts routes. `listen()` serves it; `stop()`
 * drains and closes everything in reverse order of start.
 */
import { Elysia, type AnyElysia } from 'elysia'
import type { ResolvedConfig } from './config/resolved.ts'
import { migrateDatabase } from './db/migrate.ts'
import { quote } from './errors.ts'
import { openDatabase } from './db/open.ts'
import { createMemoryCache } from './defaults/memory-cache.ts'
import { createMemoryRateLimiter } from './defaults/memory-rate-limiter.ts'
import { createMemorySessionStore } from './defaults/memory-session.ts'
import { createInProcessDispatch } from './defaults/in-process-dispatch.ts'
import { createPrimaryRouter } from './defaults/primary-router.ts'
import { createStaticPool } from './defaults/static-pool.ts'
import type { AppDeps, HealthReport } from './http/deps.ts'
import { documentJsonBodies, jsonBodies } from './http/body.ts'
import { createDrain } from './http/drain.ts'
import { errorHandler } from './http/errors.ts'
import { createAccess } from './http/access.ts'
import { createGuard } from './http/guard.ts'
import { observe } from './http/observe.ts'
import { boundValidationErrors } from './http/validation.ts'
import { createProvider } from './llm/index.ts'
import { createReplyRunner } from './chat/runner.ts'
import { createChatService, lockTtl } from './chat/service.ts'
import { createLogger, type Logger } from './observability/logger.ts'
import { createDbObservers, registerPoolGauges } from './observability/db-metrics.ts'
import { createMetrics } from './observability/metrics.ts'
import { registerSlotMetrics } from './observability/slot-metrics.ts'
import { createTraffic } from './observability/traffic.ts'
import { apiDocs } from './openapi/index.ts'
import { blame } from './plugins/blame.ts'
import { checkManifests } from './plugins/check.ts'
import { resolvePlugins } from './plugins/resolve.ts'
import { stopPlugins, wirePlugins } from './plugins/wire.ts'
import type { JobRunner, Slots } from './ports/index.ts'
import { openRedis } from './redis/connect.ts'
import type { RedisConnections } from './types.ts'
import { adminRoutes } from './routes/admin.ts'
import { authRoutes } from './routes/auth.ts'
import { consoleRoutes } from './routes/console.ts'
import { chatRoutes } from './routes/chat.ts'
import { wsRoutes } from './routes/ws.ts'
import { conversationRoutes } from './routes/conversations.ts'
import { GATEWAY_PATH, gatewayRoutes } from './routes/gateway.ts'
import { operationRoutes } from './routes/operations.ts'
import { syncRoutes } from './routes/sync.ts'
import { detectRuntime } from './runtime/index.ts'
import type { Listening, RuntimeAdapter } from './runtime/adapter.ts'
import { jwtSecret } from './secret.ts'
import { createCachedReads } from './services/cached-reads.ts'
import { createConversationService } from './services/conversations.ts'
import { createIdempotencyService } from './services/idempotency.ts'
import { createSyncService } from './services/sync.ts'
import { createTokenService } from './services/tokens.ts'
import { createUserService } from './services/users.ts'
import { CORE_VERSION } from './version.ts'

export interface Runtime {
  app: AnyElysia
  config: ResolvedConfig
  slots: Slots
  deps: AppDeps
  logger: Logger
  /** The reply runner given to the llm dispatch; a worker process (core/worker.ts) runs jobs with it. */
  runner: JobRunner
  /** Serve on `config.server.port` (0 picks a free port); resolves with the bound port. */
  listen(): Promise<{ port: number }>
  /** Drain and release everything. Safe to call more than once. */
  stop(): Promise<void>
}

export interface RuntimeOptions {
  logger?: Logger
  runtime?: RuntimeAdapter
  /** Which process this is: `api` (the default) or `worker` (core/worker.ts). */
  role?: 'api' | 'worker'
}

export async function createRuntime(config: ResolvedConfig, opts: RuntimeOptions = {}): Promise<Runtime> {
  const logger = opts.logger ?? createLogger(config.logging.level)
  const runtime = opts.runtime ?? (await detectRuntime())
  const metrics = createMetrics()

  const plugins = await resolvePlugins(config.plugins)
  checkManifests(plugins, config)

  // Redis is opened once, only when a plugin asks for it (ioredis is imported only then),
  // and before the database: an unreachable Redis fails start-up within its connect bound
  // instead of after the embedded database's start.
  let redis: RedisConnections | undefined
  const needRedis = plugins.filter((p) => p.manifest.requires?.services?.includes('redis')).map((p) => p.manifest.name)
  if (needRedis.length) {
    redis = await openRedis(config.redis, { logger, metrics: metrics.registry }).catch(async (e) => {
      const who = `${needRedis.length > 1 ? 'plugins' : 'plugin'} ${needRedis.map(quote).join(', ')} ${needRedis.length > 1 ? 'require' : 'requires'} redis`
      throw blame(who, e, 'PLUGIN_MISSING_REQUIREMENT', 'which could not be opened')
    })
  }
  const database = await openDatabase(
    config.database,
    createDbObservers({ registry: metrics.registry, logger, slowQueryMs: config.database.pool.slowQueryMs }),
  ).catch(async (e) => {
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
  if (database.driver === 'pglite') runtime.collectGarbage()
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

  const dbPool = wired.slots.dbPool ?? defaultPool
  const slots: Slots = {
    session: wired.slots.session ?? createMemorySessionStore({ ttlMs: 86_400_000 }),
    rateLimit: wired.slots.rateLimit ?? createMemoryRateLimiter(),
    cache: wired.slots.cache ?? createMemoryCache(),
    dbPool,
    dbRouter: wired.slots.dbRouter ?? createPrimaryRouter(dbPool),
    llmDispatch:
      wired.slots.llmDispatch ??
      createInProcessDispatch({
        concurrency: config.llm.concurrency,
        maxQueued: config.llm.maxQueued,
        eventRetentionMs: config.llm.eventRetentionMs,
        // Clients see INTERNAL for these; the cause belongs in the log.
        onError: (err, jobId) => logger.error({ err, jobId }, 'reply job failed'),
      }),
  }

  registerSlotMetrics(metrics.registry, slots)
  registerPoolGauges(metrics.registry, () => dbPool.stats())
  const provider = createProvider(config.llm)
  const secret = await jwtSecret(config, logger)
  const reads = createCachedReads(slots.cache, config.cache)
  const users = createUserService(slots.dbRouter, runtime, reads)
  const tokens = createTokenService(config.auth, secret, { isActive: (id) => users.isActive(id) })
  let listening: Listening | undefined
  const access = createAccess({
    config,
    tokens,
    limiter: slots.rateLimit,
    refused: metrics.rateLimited,
    // The socket peer is a runtime fact: the adapter that received the request knows it.
    clientAddress: (request) => listening?.clientAddress(request),
  })
  const guard = createGuard(access)
  const drain = createDrain()

  async function health(): Promise<HealthReport> {
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
    for (const p of wired.started) {
      if (!p.health) continue
      checks[p.manifest.name] = await withTimeout(
        Promise.resolve(p.health()).then((r) => (r === 'ok' ? 'ok' : r.detail ? `${r.status}: ${r.detail}` : r.status)),
        2000,
      )
    }
    const down = Object.values(checks).some((c) => !c.startsWith('ok') && !c.startsWith('degraded'))
    return { status: drain.draining ? 'draining' : down ? 'not_ready' : 'ready', checks }
  }

  const conversations = createConversationService(slots.dbRouter, reads)
  const chat = createChatService({
    config,
    session: slots.session,
    dispatch: slots.llmDispatch,
    conversations,
    idempotency: createIdempotencyService(slots.dbRouter),
  })
  const runner = createReplyRunner({
    provider,
    conversations,
    session: slots.session,
    bufferTurns: config.llm.bufferTurns,
    lockTtlMs: lockTtl(config),
    logger,
  })
  await slots.llmDispatch.start(runner)

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
    guard,
    provider,
    health,
    drain,
  }

  // Plugin apps go before the core routes: Elysia applies a hook only to routes registered
  // after it, and a plugin's global hooks (audit, tracing) must see every route.
  // The console's traffic charts sample the request metrics; only kept when the console is on.
  const traffic = config.console.enabled ? createTraffic(metrics) : undefined
  const pluginApps = wired.apps.map((a) => (typeof a === 'function' ? a({ guard, slots }) : a))
  // `/v1/ws` is not an Elysia route: the runtime adapter serves it before the app (see core/runtime/socket.ts).
  const socket = { route: wsRoutes(deps), limits: config.websocket }
  const app: AnyElysia = new Elysia({ name: 'scale-runtime', normalize: false })
    // Probes and scrapes first: Elysia applies hooks only to routes registered after them, so
    // these skip the request id, access log and metrics hooks (a probe every few seconds from
    // each load balancer is neither a request to log nor traffic to count).
    .use(operationRoutes(deps))
    .use(errorHandler(logger))
    .use(
      observe({
        logger,
        metrics,
        logRequests: config.logging.requests,
        metricsEnabled: config.metrics.enabled,
        drain,
      }),
    )
    .use(jsonBodies({ bodyLimit: config.server.bodyLimit, ownParsers: [GATEWAY_PATH] }))
    .use(apiDocs({ title: 'scale-runtime API', version: CORE_VERSION }))
    .use(pluginApps)
    .use(authRoutes(deps))
    .use(conversationRoutes(deps))
    .use(syncRoutes(deps))
    .use(gatewayRoutes(deps))
    .use(chatRoutes(deps))
    .use(traffic ? [adminRoutes(deps, { plugins: wired.started, traffic, redis: !!redis }), consoleRoutes(runtime)] : [])
  boundValidationErrors(app)
  documentJsonBodies(app)

  let stopping: Promise<void> | undefined

  return {
    app,
    config,
    slots,
    deps,
    logger,
    runner,
    async listen() {
      listening = await runtime.listen(app, {
        port: config.server.port,
        hostname: config.server.hostname,
        maxRequestBodySize: config.server.bodyLimit,
        socket,
      })
      return { port: listening.port }
    },
    stop() {
      stopping ??= (async () => {
        drain.begin()
        // Keep answering (each answer closing its connection) while the load balancer notices,
        // then stop listening: from then on new connections are refused and go elsewhere.
        if (listening && config.server.drainDelayMs > 0) await sleep(config.server.drainDelayMs)
        traffic?.stop()
        if (listening) {
          const graceful = listening.stop(true)
          const timedOut = await Promise.race([graceful.then(() => false), sleep(config.server.shutdownTimeoutMs).then(() => true)])
          if (timedOut) {
            logger.warn({ timeoutMs: config.server.shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing them')
            await listening.stop(false)
          }
        }
        await slots.llmDispatch.stop()
        const errors = await stopPlugins(wired.started)
        for (const s of [slots.session, slots.rateLimit, slots.cache]) await s.stop?.()
        await redis?.close()
        await slots.dbRouter.stop?.()
        await dbPool.close()
        await database.close()
        for (const e of errors) logger.error({ err: e }, 'plugin stop failed')
      })()
      return stopping
    },
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.())

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
