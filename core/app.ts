/**
 * The api: the runtime's parts (assemble.ts) with the routes composed on them. `listen()`
 * serves it; `stop()` drains and closes everything in reverse order of start.
 */
import { Elysia, type AnyElysia } from 'elysia'
import { assembleCore, type Core, type RuntimeOptions } from './assemble.ts'
import type { ResolvedConfig } from './config/resolved.ts'
import type { AppDeps } from './http/deps.ts'
import { documentJsonBodies, jsonBodies, trimBodyHooks } from './http/body.ts'
import { errorHandler } from './http/errors.ts'
import { LIVE_PATH, liveProbe } from './http/live-probe.ts'
import { observe } from './http/observe.ts'
import { boundValidationErrors } from './http/validation.ts'
import type { Logger } from './observability/logger.ts'
import { createTraffic, type Traffic } from './observability/traffic.ts'
import { apiDocs } from './openapi/index.ts'
import type { JobRunner, Slots } from './ports/index.ts'
import { adminRoutes } from './routes/admin.ts'
import { authRoutes } from './routes/auth.ts'
import { consoleRoutes } from './routes/console.ts'
import { chatRoutes } from './routes/chat.ts'
import { wsRoutes } from './routes/ws.ts'
import { conversationRoutes } from './routes/conversations.ts'
import { GATEWAY_PATH, gatewayRoutes } from './routes/gateway.ts'
import { operationRoutes } from './routes/operations.ts'
import { syncRoutes } from './routes/sync.ts'
import { CORE_VERSION } from './version.ts'

export type { RuntimeOptions } from './assemble.ts'

export interface Runtime {
  app: AnyElysia
  config: ResolvedConfig
  slots: Slots
  deps: AppDeps
  logger: Logger
  /** The reply runner given to the llm dispatch. */
  runner: JobRunner
  /** Serve on `config.server.port` (0 picks a free port); resolves with the bound port. */
  listen(): Promise<{ port: number }>
  /** Drain and release everything. Safe to call more than once. */
  stop(): Promise<void>
}

export async function createRuntime(config: ResolvedConfig, opts: RuntimeOptions = {}): Promise<Runtime> {
  const core = await assembleCore(config, opts)
  const { deps, runtime, server } = core
  // The console's traffic charts sample the request metrics; only kept when the console is on.
  const traffic = config.console.enabled ? createTraffic(core.metrics) : undefined
  const app = composeApp(core, traffic)
  // `/v1/ws` is not an Elysia route: the runtime adapter serves it before the app (see core/runtime/socket.ts).
  const socket = { route: wsRoutes(deps), limits: config.websocket }
  let stopping: Promise<void> | undefined

  return {
    app,
    config,
    slots: core.slots,
    deps,
    logger: core.logger,
    runner: core.runner,
    async listen() {
      server.listening = await runtime.listen(app, {
        port: config.server.port,
        hostname: config.server.hostname,
        maxRequestBodySize: config.server.bodyLimit,
        socket,
        direct: { [LIVE_PATH]: liveProbe(deps.drain) },
      })
      return { port: server.listening.port }
    },
    stop() {
      stopping ??= (async () => {
        await stopServing(core)
        // Elysia runs after-response hooks (the access log line, request metrics) in a
        // setImmediate; Bun can hold that task back while the stop is under way, so the last
        // answer's line would be written after the logs were flushed. An immediate queued now
        // runs after those already queued.
        await new Promise<void>((resolve) => setImmediate(resolve))
        traffic?.stop()
        await core.stop()
      })()
      return stopping
    },
  }
}

/** The app: operations, the request hooks, plugin apps, then the core's routes. */
function composeApp(core: Core, traffic: Traffic | undefined): AnyElysia {
  const { config, deps, logger, wired } = core
  const { guard, slots } = deps
  // Plugin apps go before the core routes: Elysia applies a hook only to routes registered
  // after it, and a plugin's global hooks (audit, tracing) must see every route.
  const pluginApps = wired.apps.map((a) => (typeof a === 'function' ? a({ guard, slots }) : a))
  const app: AnyElysia = new Elysia({ name: 'scale-runtime', normalize: false })
    // Probes and scrapes: they get a request id and the header check (`onRequest` runs before
    // routing, for every route), but no access log line, metrics or request scope, which
    // observe.ts skips for them (a probe every few seconds from each load balancer is neither
    // a request to log nor traffic to count).
    .use(operationRoutes(deps))
    .use(errorHandler(logger))
    .use(
      observe({
        logger,
        metrics: core.metrics,
        logRequests: config.logging.requests,
        metricsEnabled: config.metrics.enabled,
        drain: deps.drain,
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
    .use(traffic ? [adminRoutes(deps, { plugins: wired.started, traffic, redis: !!core.redis }), consoleRoutes(core.runtime)] : [])
  boundValidationErrors(app)
  documentJsonBodies(app)
  trimBodyHooks(app)
  return app
}

/**
 * Drain: keep answering (each answer closing its connection) while the load balancer
 * notices, then stop listening, waiting for in-flight requests up to the shutdown timeout.
 */
async function stopServing(core: Core): Promise<void> {
  const { config, logger, server } = core
  core.deps.drain.begin()
  const listening = server.listening
  if (!listening) return
  if (config.server.drainDelayMs > 0) await sleep(config.server.drainDelayMs)
  const graceful = listening.stop(true)
  const timedOut = await Promise.race([graceful.then(() => false), sleep(config.server.shutdownTimeoutMs).then(() => true)])
  if (timedOut) {
    logger.warn({ timeoutMs: config.server.shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing them')
    await listening.stop(false)
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.())
