/**
 * `pool-tuner`: database pools sized from the server, not guessed. Every api instance and
 * worker beats in Redis; each sets its pool to its share of `max_connections` (minus the
 * reserved slots and a headroom) among the live processes, and follows scale-out and crashes.
 * See README.md beside this file.
 */
import { ScaleError, type ScalePlugin, type DbPool, type SizedPool, type DbRouter } from 'scale-runtime/plugin'
import { Elysia } from 'elysia'
import { resolveTunerOptions, type PoolTunerOptions, type ResolvedTunerOptions } from './options.ts'
import { createTuner, type Tuner } from './tuner.ts'

export { resolveTunerOptions, type PoolTunerOptions, type ResolvedTunerOptions } from './options.ts'

/** A db router that shows its replica pools to pool-tuner (replica-router does, when present). */
export type RouterWithReplicas = DbRouter & { replicaPools(): SizedPool[] }

const hasReplicas = (r: DbRouter | undefined): r is RouterWithReplicas =>
  typeof (r as Partial<RouterWithReplicas> | undefined)?.replicaPools === 'function'

/**
 * @default headroom 5, min 2, max database.pool.max, interval '30 s', heartbeatTtl 3 × interval,
 * group the database's host:port
 * @example
 * import poolTuner from '../plugins/pool-tuner/index.ts'
 * database: { pool: { max: 40, acquireTimeout: '2 s' } },
 * plugins: [sessionRedis(), rateLimitRedis(), llmQueue(), poolTuner({ headroom: 10, min: 2 })]
 */
export default function poolTuner(options: PoolTunerOptions = {}): ScalePlugin {
  let tuner: Tuner | undefined
  let resolved: ResolvedTunerOptions | undefined
  let router: DbRouter | undefined
  return {
    // Read by `npm run cli -- doctor`.
    options,
    manifest: { name: 'pool-tuner', core: '^0.1.0', provides: ['dbPool'], requires: { services: ['redis', 'postgres'] } },
    async setup(ctx) {
      const pool = ctx.pool
      if (!pool?.resize) {
        throw new ScaleError('PLUGIN_SETUP_FAILED', 'pool-tuner needs the core pool on PostgreSQL (one it can resize); set DATABASE_URL')
      }
      resolved = resolveTunerOptions(options, ctx.config)
      const primary: SizedPool = { name: 'primary', db: pool.db, stats: () => pool.stats(), resize: (n) => pool.resize!(n) }
      tuner = createTuner({
        options: resolved,
        redis: ctx.redis!,
        keyPrefix: ctx.config.redis.keyPrefix,
        role: ctx.role ?? 'api',
        // Replica pools join once the router is known (after every plugin is set up).
        pools: () => [primary, ...(hasReplicas(router) ? router.replicaPools() : [])],
        logger: ctx.logger.child({ plugin: 'pool-tuner' }),
        metrics: ctx.metrics,
      })
      await tuner.tick()
      tuner.start()
      const slot: DbPool = { db: pool.db, stats: () => pool.stats(), resize: (n) => pool.resize!(n), close: () => pool.close() }
      return {
        slots: { dbPool: slot },
        app: ({ slots }) => {
          router = slots.dbRouter
          if (hasReplicas(router)) void tuner?.tick()
          return new Elysia({ name: 'pool-tuner' })
        },
      }
    },
    health() {
      if (!tuner) return 'ok'
      const error = tuner.lastError()
      if (error) return { status: 'degraded', detail: `sizes kept from the last good round: ${error}` }
      const parts = Object.entries(tuner.state()).map(([name, s]) => `${name} ${s.limit} of ${s.budget} across ${s.processes} processes`)
      return { status: 'ok', detail: parts.join('; ') }
    },
    stop: () => tuner?.stop(),
  }
}
