/**
 * The configuration as the runtime uses it: every default filled in, durations in ms. Made
 * by `resolveConfig` (load.ts) from what `defineScale` (define.ts) declares.
 */
import type { Tier } from '../types.ts'
import type { TierLimits } from './schema.ts'

/** Kinds of cached reads, each with its own TTL (`cache.ttl`). */
export type CacheKind = 'user' | 'conversations' | 'conversation' | 'messages'
export const CACHE_KINDS: readonly CacheKind[] = ['user', 'conversations', 'conversation', 'messages']
/** Documented defaults of `cache.ttl`: profile and tier 1 min, the list 2 min, one conversation 1 min, a page of messages 1 min. */
export const DEFAULT_CACHE_TTL_MS: Record<CacheKind, number> = {
  user: 60_000,
  conversations: 120_000,
  conversation: 60_000,
  messages: 60_000,
}

/** Fully defaulted configuration, after the environment overlay. Durations are in ms. */
export interface ResolvedConfig {
  instances: number
  allowInMemory: string[]
  server: {
    port: number
    hostname: string
    bodyLimit: number
    trustedProxyHops: number
    shutdownTimeoutMs: number
    drainDelayMs: number
    allowedOrigins: string[]
  }
  database: {
    url?: string
    dataDir: string
    migrate: boolean
    statementTimeoutMs: number
    /** `transaction`: a transaction-mode pooler sits in front (no prepared statements, no session state). */
    pooler: 'none' | 'session' | 'transaction'
    pool: { max: number; pipeline: number; acquireTimeoutMs: number; slowQueryMs: number; idleTimeoutMs: number; maxLifetimeMs: number }
  }
  redis: { url?: string; keyPrefix: string; commandTimeoutMs: number }
  /** Cached reads: TTL and stale-while-revalidate window per kind, in ms. */
  cache: { ttlMs: Record<CacheKind, number>; staleMs: Record<CacheKind, number> }
  auth: { jwtSecret?: string; issuer: string; audience: string; tokenTtlMs: number; tokenCacheSize: number; revocationCheckMs: number }
  llm: {
    provider: 'anthropic' | 'fake'
    apiKey?: string
    baseURL?: string
    model: string
    timeoutMs: number
    maxRetries: number
    fakeTokenDelayMs: number
    concurrency: number
    maxQueued: number
    eventRetentionMs: number
    system?: string
    bufferTurns: number
  }
  websocket: { idleTimeoutMs: number; maxFrameBytes: number; maxBufferedBytes: number; slowClientTimeoutMs: number }
  tiers: Record<Tier, ResolvedTierLimits>
  anonymous: { requestsPerMinute: number }
  logging: { level: string; requests: boolean }
  metrics: { enabled: boolean }
  /** `/console` and `/v1/admin/status`; off by default when `instances` is above 1. */
  console: { enabled: boolean }
  /** The entries of `config.plugins` as written (see `PluginEntry`); `resolvePlugins` checks each. */
  plugins: readonly unknown[]
}

/** A tier's row with every optional limit filled in. */
export type ResolvedTierLimits = TierLimits & { maxSockets: number }

export const DEFAULT_TIERS: Record<Tier, ResolvedTierLimits> = {
  free: { requestsPerMinute: { api: 600, sync: 120 }, chatPerMinute: 20, maxTokens: 1024, maxSockets: 10 },
  paid: { requestsPerMinute: { api: 3000, sync: 600 }, chatPerMinute: 100, maxTokens: 4096, maxSockets: 50 },
}
