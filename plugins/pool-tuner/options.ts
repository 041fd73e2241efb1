/** pool-tuner options, their defaults, and their resolution against the core's config (once, at set-up). */
import { ms, quote, ScaleError, type Duration, type ResolvedConfig } from 'scale-runtime/plugin'

export interface PoolTunerOptions {
  /** Connections left free on each server for migrations, admin sessions, monitoring and other apps. @default 5 */
  headroom?: number
  /** Fewest connections a process keeps, whatever its share. @default 2 */
  min?: number
  /** Most connections a process takes; at most `database.pool.max`, the size the client is opened at. @default database.pool.max */
  max?: number
  /** How often the server's limits and the live processes are read again. @default '30 s' */
  interval?: Duration
  /** A process that stops beating (crashed, killed) stops counting after this. @default 3 × interval */
  heartbeatTtl?: Duration
  /** Processes sharing one budget. @default the database's host:port (all processes on one server) */
  group?: string
}

export interface ResolvedTunerOptions {
  headroom: number
  min: number
  max: number
  intervalMs: number
  ttlMs: number
  group: string
}

export function resolveTunerOptions(given: PoolTunerOptions, config: Pick<ResolvedConfig, 'database'>): ResolvedTunerOptions {
  const ceiling = config.database.pool.max
  const max = given.max ?? ceiling
  const min = given.min ?? Math.min(2, max)
  const bad = (what: string, v: unknown, valid: string) =>
    new ScaleError('PLUGIN_INVALID', `pool-tuner ${what} is ${quote(v)}; expected ${valid}`)
  if (!Number.isInteger(max) || max < 1) throw bad('max', given.max, 'an integer of at least 1')
  if (max > ceiling)
    throw bad('max', max, `at most database.pool.max (${ceiling}), the size the pool is opened at; raise database.pool.max`)
  if (!Number.isInteger(min) || min < 1 || min > max) throw bad('min', given.min, `an integer from 1 to max (${max})`)
  const headroom = given.headroom ?? 5
  if (!Number.isInteger(headroom) || headroom < 0) throw bad('headroom', given.headroom, 'an integer of at least 0')
  const intervalMs = ms(given.interval ?? '30 s')
  const ttlMs = given.heartbeatTtl === undefined ? intervalMs * 3 : ms(given.heartbeatTtl)
  if (ttlMs <= intervalMs)
    throw bad(
      'heartbeatTtl',
      given.heartbeatTtl,
      `longer than interval (${intervalMs} ms), or every process would flicker out between beats`,
    )
  const group = given.group ?? (config.database.url ? new URL(config.database.url).host : 'embedded')
  return { headroom, min, max, intervalMs, ttlMs, group }
}
