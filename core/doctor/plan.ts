/**
 * The capacity plan `doctor` prints, computed from the config and what the probes found:
 * connections per process × processes against the server's limit, Redis round trips per
 * request per route group, what the tier limits let one active user send, and the problems.
 * Pure: no I/O here, so every rule is testable on its own.
 */
import type { ResolvedConfig } from '../config/resolved.ts'
import type { Tier } from '../types.ts'
import { TIERS } from '../types.ts'
import { budgetOf, shareOf, type ServerLimits } from '../db/budget.ts'
import { PROCESS_LOCAL_DEFAULTS, type SlotName } from '../ports/index.ts'
import type { LiveProcess } from '../redis/heartbeat.ts'

export interface PostgresProbe extends ServerLimits {
  /** Rows read per row written in this database since the statistics were reset. */
  readsPerWrite?: number
}

export interface RedisProbe {
  live: LiveProcess[]
  maxClients: number
  connectedClients: number
  usedMemory: number
  maxMemory: number
  policy: string
}

export interface PluginView {
  name: string
  provides: SlotName[]
  options?: Record<string, unknown>
}

export interface DoctorInput {
  config: ResolvedConfig
  plugins: PluginView[]
  /** The manifest checks' verdict (what start-up would refuse), if any. */
  startupError?: string
  postgres?: PostgresProbe | { error: string }
  redis?: RedisProbe | { error: string }
}

export interface Problem {
  severity: 'error' | 'warning'
  code: string
  message: string
}

export type Group = 'api' | 'sync' | 'chat' | 'anonymous'

export interface Report {
  database: 'embedded' | 'postgres'
  nothingToSize: boolean
  processes?: { api: number; workers: number; source: 'heartbeats' | 'config' }
  connections?: {
    perProcess: number
    processes: number
    total: number
    sizedBy: 'pool-tuner' | 'database.pool.max'
    maxConnections?: number
    reserved?: number
    budget?: number
    currentlyOpen?: number
  }
  redis?: Omit<RedisProbe, 'live'> & { liveProcesses: number; estimatedClients: number }
  roundTrips: Record<Group, number>
  tiers: Record<Tier, { perUserPerSecond: number; per1000UsersPerInstance: number }>
  llmQuota?: { requestsPerMinute: number; tokensPerMinute: number; requestsPerDay: number }
  problems: Problem[]
}

/**
 * Redis round trips one request makes on the api side, by plugin and route group (an upper
 * estimate: a reply's streamed events and the worker's own calls come on top).
 */
const ROUND_TRIPS: Record<string, Partial<Record<Group, number>>> = {
  'ratelimit-redis': { api: 1, sync: 1, chat: 1, anonymous: 1 },
  // The reply lock; the conversation buffer is read by whichever process runs the reply.
  'session-redis': { chat: 1 },
  // Admit and create the job in one script, then the first read of its events.
  'llm-queue': { chat: 2 },
  // An in-process miss reads the shared layer.
  cache: { api: 1, sync: 1 },
}

/** Redis connections one process opens, by plugin (command and subscriber shared; BullMQ's own). */
const REDIS_CLIENTS: Record<string, number> = { 'ratelimit-redis': 0, 'session-redis': 0, 'llm-queue': 3, cache: 1 }

const isError = (x: unknown): x is { error: string } => typeof (x as { error?: unknown })?.error === 'string'

export function buildReport(input: DoctorInput): Report {
  const { config, plugins } = input
  const names = new Set(plugins.map((p) => p.name))
  const problems: Problem[] = []
  const problem = (severity: Problem['severity'], code: string, message: string) => problems.push({ severity, code, message })
  if (input.startupError) problem('error', 'STARTUP_REFUSED', input.startupError)

  const roundTrips: Record<Group, number> = { api: 0, sync: 0, chat: 0, anonymous: 0 }
  for (const name of names) for (const [g, n] of Object.entries(ROUND_TRIPS[name] ?? {})) roundTrips[g as Group] += n

  const apiInstancesConfigured = config.instances
  const live = input.redis && !isError(input.redis) ? input.redis.live : []
  const fromBeats = live.length > 0
  const api = fromBeats ? live.filter((p) => p.role === 'api').length : apiInstancesConfigured
  const workers = fromBeats ? live.filter((p) => p.role === 'worker').length : names.has('llm-queue') ? 1 : 0
  const processes = api + workers

  const tiers = Object.fromEntries(
    TIERS.map((t) => {
      const l = config.tiers[t]
      const perUser = (l.requestsPerMinute.api + l.requestsPerMinute.sync + l.chatPerMinute) / 60
      return [t, { perUserPerSecond: round(perUser), per1000UsersPerInstance: round((perUser * 1000) / Math.max(1, api)) }]
    }),
  ) as Report['tiers']

  if (!config.database.url) {
    return { database: 'embedded', nothingToSize: true, roundTrips, tiers, problems }
  }

  // Process-local slots with several instances.
  const provided = new Set(plugins.flatMap((p) => p.provides))
  if (api > 1) {
    for (const [slot, plugin] of Object.entries(PROCESS_LOCAL_DEFAULTS) as [SlotName, string][]) {
      if (provided.has(slot)) continue
      const allowed = config.allowInMemory.includes(slot)
      problem(
        allowed ? 'warning' : 'error',
        'PROCESS_LOCAL_SLOT',
        `${slot} is process-local with ${api} api instances${allowed ? ' (allowed in allowInMemory)' : ''}: each instance keeps its own; add ${plugin}`,
      )
    }
  }

  const tuner = plugins.find((p) => p.name === 'pool-tuner')?.options as { headroom?: number; min?: number; max?: number } | undefined
  const pg = input.postgres
  let connections: Report['connections']
  if (isError(pg)) problem('error', 'POSTGRES_UNREACHABLE', `PostgreSQL did not answer: ${pg.error}`)
  const limits = pg && !isError(pg) ? pg : undefined
  if (names.has('pool-tuner')) {
    const max = tuner?.max ?? config.database.pool.max
    const min = tuner?.min ?? Math.min(2, max)
    const budget = limits ? budgetOf(limits, tuner?.headroom ?? 5) : undefined
    const perProcess = budget === undefined ? max : shareOf({ budget, processes, othersHold: 0, min, max })
    connections = {
      perProcess,
      processes,
      total: perProcess * processes,
      sizedBy: 'pool-tuner',
      ...(limits && { maxConnections: limits.maxConnections, reserved: limits.reserved, budget, currentlyOpen: limits.current }),
    }
    if (budget !== undefined && min * processes > budget) {
      problem(
        'error',
        'POOL_MIN_OVER_BUDGET',
        `pool-tuner min ${min} × ${processes} processes = ${min * processes} is over the budget of ${budget} connections (max_connections ${limits!.maxConnections} - reserved ${limits!.reserved} - headroom ${tuner?.headroom ?? 5}); lower min or raise max_connections`,
      )
    }
  } else {
    const perProcess = config.database.pool.max
    const total = perProcess * processes
    connections = {
      perProcess,
      processes,
      total,
      sizedBy: 'database.pool.max',
      ...(limits && {
        maxConnections: limits.maxConnections,
        reserved: limits.reserved,
        budget: limits.maxConnections - limits.reserved,
        currentlyOpen: limits.current,
      }),
    }
    if (limits && total > limits.maxConnections - limits.reserved) {
      problem(
        'error',
        'POOL_OVER_MAX_CONNECTIONS',
        `pool total ${perProcess} connections × ${processes} processes = ${total} is over max_connections ${limits.maxConnections} - ${limits.reserved} reserved = ${limits.maxConnections - limits.reserved}: under load queries fail with "too many clients"; lower database.pool.max or add pool-tuner`,
      )
    }
  }
  if (limits?.readsPerWrite !== undefined && limits.readsPerWrite >= 10 && api > 1 && !names.has('replica-router')) {
    problem(
      'warning',
      'NO_REPLICA',
      `${Math.round(limits.readsPerWrite)} rows read per row written, all on the primary, with ${api} api instances: add replica-router to send reads to replicas`,
    )
  }

  let redis: Report['redis']
  const r = input.redis
  if (isError(r)) problem('error', 'REDIS_UNREACHABLE', `Redis did not answer: ${r.error}`)
  else if (r) {
    const perProcess = 1 + [...names].reduce((n, name) => n + (REDIS_CLIENTS[name] ?? 0), 0)
    const { live: _live, ...rest } = r
    redis = { ...rest, liveProcesses: live.length, estimatedClients: perProcess * processes }
    if (perProcess * processes > r.maxClients) {
      problem(
        'error',
        'REDIS_MAXCLIENTS',
        `about ${perProcess} Redis connections × ${processes} processes = ${perProcess * processes} is over maxclients ${r.maxClients}`,
      )
    }
    if (names.has('llm-queue') && r.policy !== 'noeviction') {
      problem(
        'error',
        'REDIS_EVICTION',
        `Redis maxmemory-policy is ${r.policy}; llm-queue (BullMQ) needs noeviction, or jobs vanish under memory pressure`,
      )
    }
    if (r.maxMemory === 0)
      problem('warning', 'REDIS_NO_MAXMEMORY', 'Redis has no maxmemory: it grows until the machine runs out; set maxmemory')
    else if (r.usedMemory > r.maxMemory * 0.8)
      problem('warning', 'REDIS_MEMORY', `Redis uses ${mb(r.usedMemory)} of ${mb(r.maxMemory)} maxmemory`)
  }

  let llmQuota: Report['llmQuota']
  const quota = (plugins.find((p) => p.name === 'llm-queue')?.options as { quota?: Partial<NonNullable<Report['llmQuota']>> } | undefined)
    ?.quota
  if (quota) {
    llmQuota = {
      requestsPerMinute: quota.requestsPerMinute ?? 0,
      tokensPerMinute: quota.tokensPerMinute ?? 0,
      requestsPerDay: quota.requestsPerDay ?? 0,
    }
    for (const t of TIERS) {
      const l = config.tiers[t]
      if (llmQuota.tokensPerMinute && l.maxTokens > llmQuota.tokensPerMinute) {
        problem(
          'error',
          'QUOTA_BELOW_TIER',
          `the ${t} tier allows replies of ${l.maxTokens} tokens but the provider quota is ${llmQuota.tokensPerMinute} tokens a minute: such a reply can never start`,
        )
      }
      if (llmQuota.requestsPerMinute && l.chatPerMinute > llmQuota.requestsPerMinute) {
        problem(
          'warning',
          'QUOTA_BELOW_TIER',
          `one ${t} user may send ${l.chatPerMinute} chat messages a minute but the provider quota is ${llmQuota.requestsPerMinute} requests a minute: replies wait in line`,
        )
      }
    }
  }

  return {
    database: 'postgres',
    nothingToSize: false,
    processes: { api, workers, source: fromBeats ? 'heartbeats' : 'config' },
    connections,
    redis,
    roundTrips,
    tiers,
    llmQuota,
    problems,
  }
}

const round = (n: number) => Math.round(n * 100) / 100
const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`
