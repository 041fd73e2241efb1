/**
 * `scale-runtime/plugin`: the public plugin API, the one module plugins import from. Every
 * name here is semver-guarded (a breaking change is a major version of scale-runtime);
 * anything reached by another path is internal.
 *
 * @example
 * import { definePlugin, Type } from 'scale-runtime/plugin'
 */
import type { Principal } from './services/tokens.ts'

// The contract and definePlugin.
export type {
  HealthResult,
  PluginApi,
  PluginContext,
  PluginEntry,
  PluginManifest,
  PluginSetup,
  ScalePlugin,
  Service,
} from './plugins/contract.ts'
export {
  checkOptions,
  definePlugin,
  type PluginBody,
  type PluginDefinition,
  type PluginFactory,
  type PluginOptionsInput,
} from './plugins/define.ts'
export { SLOT_METHODS } from './plugins/slot-shape.ts'
export { Type, type Static, type TSchema } from '@sinclair/typebox'
export { CORE_VERSION } from './version.ts'

// Slots and their ports.
export { SLOT_NAMES } from './ports/index.ts'
export type * from './ports/index.ts'
export type { Tier } from './types.ts'
export type { ResolvedConfig } from './config/resolved.ts'
/** The database tables (Drizzle), for a plugin that opens its own connections (replicas) and needs a `Db` like the core's. */
export * as dbSchema from './db/schema.ts'
export type { RouteGroup } from './http/guard.ts'
export type { Principal } from './services/tokens.ts'

// Coded errors (recognised across copies of this package by a brand, not by class identity).
export { ScaleError, isScaleError, quote, type ErrorCode, type StartupCode } from './errors.ts'

// Durations.
export { durationSchema, ms, parseDuration, type Duration, type Unit } from './duration.ts'

// Redis: connection types, key names, Lua scripts.
export type { RedisClient, RedisConnections } from './types.ts'
export { beat, heartbeatKeys, type LiveProcess, type ProcessInfo } from './redis/heartbeat.ts'
// Connection budgets: what a PostgreSQL server allows, shared among the deployment's processes.
export { budgetOf, readServerLimits, shareOf, type ServerLimits } from './db/budget.ts'
/** The core's resizable pool (a gate in front of postgres.js), for a plugin that opens pools of its own (replicas). */
export { createPostgresPool, type PostgresPool, type PostgresPoolOptions } from './db/postgres-pool.ts'
export { taggedKey } from './redis/keys.ts'
export { isNoScript, loadScript, runScript, type LuaScript } from './redis/script.ts'
export { createBreaker, type Breaker, type BreakerOptions } from './redis/breaker.ts'

// Defaults a plugin may build on (a local fallback, a first cache tier).
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './defaults/memory-rate-limiter.ts'
export { createMemoryCache, type MemoryCacheOptions } from './defaults/memory-cache.ts'

/**
 * The authenticated user of a request, in a hook that runs for every route (a global
 * `onAfterResponse`, say): set on routes with `{ auth: ... }`, undefined elsewhere.
 */
export function principalOf(ctx: object): Principal | undefined {
  const user = (ctx as { user?: unknown }).user
  return typeof user === 'object' && user !== null && typeof (user as Principal).userId === 'string' ? (user as Principal) : undefined
}
