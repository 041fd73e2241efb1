/**
 * The configuration as the runtime uses it: every default filled in, durations in ms. Made
 * by `resolveConfig` (load.ts) from what `defineScale` (define.ts) declares; its type follows
 * from the schema (schema.ts), but for the few keys `resolveConfig` works out itself.
 */
import type { Tier } from '../types.ts'
import type { CacheKind, ConfigSchema, Resolved, TierLimits } from './schema.ts'

/** What the schema alone says of the resolved config. */
export type SchemaResolved = Resolved<typeof ConfigSchema>
type Database = SchemaResolved['database']

/** Fully defaulted configuration, after the environment overlay. Durations are in ms. */
export type ResolvedConfig = Omit<SchemaResolved, 'database' | 'cache' | 'llm' | 'tiers' | 'console' | 'plugins'> & {
  /** `database.slowQuery` (or its older spelling `database.pool.slowQuery`) is `pool.slowQueryMs`. */
  database: Omit<Database, 'slowQueryMs' | 'pool'> & { pool: Omit<Database['pool'], 'slowQueryMs'> & { slowQueryMs: number } }
  /** Cached reads: TTL and stale-while-revalidate window per kind, in ms. */
  cache: { ttlMs: Record<CacheKind, number>; staleMs: Record<CacheKind, number> }
  /** The provider defaults to `anthropic` when an API key is set, else `fake`; `anthropic` always has its key. */
  llm: Omit<SchemaResolved['llm'], 'provider' | 'apiKey'> &
    ({ provider: 'anthropic'; apiKey: string } | { provider: 'fake'; apiKey?: string })
  tiers: Record<Tier, ResolvedTierLimits>
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
