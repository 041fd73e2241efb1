/**
 * The tuning loop: at start and every `interval`, read each server's limits, beat in Redis
 * (publishing the limits this process holds), and set each pool to its share of its server's
 * budget among the live processes.
 */
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import {
  beat,
  budgetOf,
  heartbeatKeys,
  readServerLimits,
  shareOf,
  type LiveProcess,
  type ProcessInfo,
  type RedisClient,
  type ServerLimits,
  type SizedPool,
} from 'scale-runtime/plugin'
import type { ResolvedTunerOptions } from './options.ts'

export interface TunerDeps {
  options: ResolvedTunerOptions
  redis: RedisClient
  keyPrefix: string
  role: 'api' | 'worker'
  /** The pools to size now: the primary, and replicas once the router shows them. */
  pools: () => SizedPool[]
  logger: Logger
  metrics: Registry
}

export interface PoolState {
  limit: number
  budget: number
  processes: number
}

export interface Tuner {
  /** One round: limits, beat, resize. Never throws; a failure keeps the current sizes. */
  tick(): Promise<void>
  start(): void
  /** Leave the group (the others grow at their next beat) and stop beating. Idempotent. */
  stop(): Promise<void>
  state(): Record<string, PoolState>
  /** Why the last round failed, if it did. */
  lastError(): string | undefined
}

export function createTuner(d: TunerDeps): Tuner {
  const { options, logger } = d
  const keys = heartbeatKeys(d.keyPrefix, options.group)
  const id = `${d.role}:${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`
  const held: Record<string, number> = {}
  const state: Record<string, PoolState> = {}
  let error: string | undefined
  let tuned = false
  let timer: ReturnType<typeof setInterval> | undefined
  let running: Promise<void> | undefined
  let stopped: Promise<void> | undefined

  const info = (): ProcessInfo => ({ role: d.role, host: hostname(), pid: process.pid, limits: { ...held } })

  function size(pool: SizedPool, limits: ServerLimits, live: LiveProcess[]): boolean {
    const budget = budgetOf(limits, options.headroom)
    const othersHold = live.filter((p) => p.id !== id).reduce((n, p) => n + (p.limits[pool.name] ?? 0), 0)
    const processes = Math.max(1, live.length + (live.some((p) => p.id === id) ? 0 : 1))
    const next = shareOf({ budget, processes, othersHold, min: options.min, max: options.max })
    const before = held[pool.name]
    state[pool.name] = { limit: next, budget, processes }
    if (before === next) return false
    pool.resize(next)
    held[pool.name] = next
    logger.info({ pool: pool.name, from: before ?? pool.stats().size, to: next, budget, processes }, 'pool resized')
    return before === undefined || next > before
  }

  /** Never sized yet (its server could not be read): the client was opened at max; the floor until a round works. */
  function floor(pool: SizedPool) {
    if (held[pool.name] === undefined) pool.resize(options.min)
  }

  async function round(): Promise<void> {
    const pools = d.pools()
    // Each server on its own: a replica that cannot be read keeps its size, the others are sized.
    const limits = await Promise.allSettled(pools.map((p) => readServerLimits(p.db)))
    const live = await beat(d.redis, keys, id, options.ttlMs, info())
    let grew = false
    const failed: string[] = []
    pools.forEach((p, i) => {
      const l = limits[i]!
      if (l.status === 'fulfilled') grew = size(p, l.value, live) || grew
      else {
        failed.push(`${p.name}: ${(l.reason as Error)?.message ?? String(l.reason)}`)
        floor(p)
      }
    })
    // Publish growth at once, so the others never count on space this process now holds.
    if (grew) await beat(d.redis, keys, id, options.ttlMs, info())
    tuned = true
    error = failed.length ? failed.join('; ') : undefined
    if (failed.length) logger.warn({ failed }, 'pool-tuner: could not read some servers; their pools keep their sizes')
  }

  async function tick(): Promise<void> {
    if (stopped) return
    try {
      await round()
    } catch (e) {
      error = (e as Error).message
      logger.warn({ err: e }, 'pool-tuner: could not size the pools this round; keeping the current sizes')
      if (!tuned) for (const p of d.pools()) floor(p)
    }
  }

  const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [d.metrics],
      collect() {
        read(this)
      },
    })
  gauge('db_pool_tuner_limit', 'Connections this process may hold per pool, as pool-tuner set them', ['pool'], (g) => {
    for (const [pool, s] of Object.entries(state)) g.set({ pool }, s.limit)
  })
  gauge('db_pool_tuner_budget', 'Connections the server lets applications hold (max_connections - reserved - headroom)', ['pool'], (g) => {
    for (const [pool, s] of Object.entries(state)) g.set({ pool }, s.budget)
  })
  gauge('db_pool_tuner_processes', 'Live processes sharing the budget (from the heartbeats)', [], (g) => {
    const s = state.primary
    if (s) g.set(s.processes)
  })

  const once = () => (running ??= tick().finally(() => (running = undefined)))
  return {
    tick: once,
    start() {
      if (timer || stopped) return
      timer = setInterval(() => void once(), options.intervalMs)
      timer.unref?.()
    },
    stop: () =>
      (stopped ??= (async () => {
        if (timer) clearInterval(timer)
        await running?.catch(() => {})
        await beat(d.redis, keys, id, options.ttlMs).catch((e) => logger.warn({ err: e }, 'pool-tuner: could not leave the group'))
      })()),
    state: () => ({ ...state }),
    lastError: () => error,
  }
}
