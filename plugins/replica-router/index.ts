/**
 * `replica-router`: reads on PostgreSQL streaming replicas, writes on the primary, and every
 * user still reads their own writes (by WAL position). See README.md beside this file.
 */
import { ScaleError, type ScalePlugin } from 'scale-runtime/plugin'
import { registerReplicaMetrics } from './metrics.ts'
import { redact, resolveOptions, type ReplicaRouterOptions } from './options.ts'
import { createReplicaRouter, type ReplicaRouter } from './router.ts'

export { createReplicaRouter, type ReplicaRouter, type ReplicaRouterConfig } from './router.ts'
export { replicaUrls, type ReplicaRouterOptions } from './options.ts'

/**
 * The plugin for `config/scale.ts`. With several instances, list it after `sessionRedis()`:
 * a user's write position then lives in their session, where every instance reads it.
 *
 * @default urls from DATABASE_REPLICA_URLS, lagPoll '100 ms', maxLag '1 s', maxLagBytes 16 MiB, maxWait 0
 * @example
 * import replicaRouter from '../plugins/replica-router/index.ts'
 * plugins: [sessionRedis(), replicaRouter({ maxLag: '2 s' })]
 */
export default function replicaRouter(options: ReplicaRouterOptions = {}): ScalePlugin {
  let router: ReplicaRouter | undefined
  return {
    manifest: { name: 'replica-router', core: '^0.1.0', provides: ['dbRouter'], requires: { services: ['postgres'] } },
    async setup(ctx) {
      const resolved = resolveOptions(options, ctx.config)
      if (!ctx.postgres) throw new ScaleError('PLUGIN_MISSING_REQUIREMENT', 'replicaRouter needs DATABASE_URL (PostgreSQL) for the primary')
      const marks = options.marks ?? (ctx.slots.session ? 'session' : 'process')
      if (marks === 'session' && !ctx.slots.session) {
        throw new ScaleError(
          'PLUGIN_MISSING_REQUIREMENT',
          "replicaRouter marks: 'session' needs a session plugin listed before it (sessionRedis())",
        )
      }
      if (!options.marks && marks === 'process' && ctx.config.instances > 1) {
        throw new ScaleError(
          'PLUGIN_MISSING_REQUIREMENT',
          "replicaRouter with several instances needs a shared session store listed before it (sessionRedis()), so a write on one instance is seen by reads on the others; or marks: 'process' when the load balancer pins each user to one instance",
        )
      }
      const session = marks === 'session' ? ctx.slots.session : undefined
      const log = ctx.logger.child({ plugin: 'replica-router' })
      const lastLogged = new Map<string, number>()
      const names = new Set<string>()
      const replicas = resolved.urls.map((url) => {
        let name = redact(url)
        while (names.has(name)) name += '#'
        names.add(name)
        return { url, name }
      })
      router = await createReplicaRouter({
        ...resolved,
        // Replica pools queue and time out as the core's pool does.
        pipeline: ctx.config.database.pool.pipeline,
        acquireTimeoutMs: ctx.config.database.pool.acquireTimeoutMs,
        primaryDb: ctx.db,
        primarySql: ctx.postgres,
        replicas,
        session,
        onEvent: (e) =>
          log[e.to === 'up' ? 'info' : 'warn'](e, `replica ${e.replica} ${e.to === 'up' ? 'in rotation' : `out of rotation (${e.to})`}`),
        onError: (err, what) => {
          // Once per 10 s per kind: a Redis or primary outage would otherwise log every read or poll.
          const now = Date.now()
          if ((lastLogged.get(what) ?? 0) > now - 10_000) return
          lastLogged.set(what, now)
          log.warn({ err }, `replica-router: ${what} failed`)
        },
      })
      registerReplicaMetrics(ctx.metrics, router)
      log.info({ replicas: router.readTargets().map((t) => `${t.name} ${t.state}`), marks }, 'replica-router ready')
      return { slots: { dbRouter: router } }
    },
    health() {
      if (!router) return { status: 'down', detail: 'not set up' }
      const targets = router.readTargets()
      const list = targets
        .map((t) => `${t.name} ${t.state}${t.state === 'up' || t.state === 'lagging' ? ` (lag ${t.lagSeconds.toFixed(2)} s)` : ''}`)
        .join(', ')
      if (!targets.some((t) => t.state === 'up'))
        return { status: 'degraded', detail: `no replica in rotation, the primary serves every read: ${list}` }
      return { status: 'ok', detail: list }
    },
    stop: () => router?.stop(),
  }
}
