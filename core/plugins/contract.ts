/**
 * The plugin contract. A plugin is a manifest plus `setup(ctx)`; the loader checks every
 * manifest before it calls any `setup`.
 *
 * @example
 * export default function auditLog(opts: { path?: string } = {}): ScalePlugin {
 *   return {
 *     manifest: { name: 'audit-log', core: '^0.1.0' },
 *     setup: (ctx) => ({ app: new Elysia({ name: 'audit-log' }).onAfterResponse(...) }),
 *   }
 * }
 */
import type { AnyElysia } from 'elysia'
import type { Sql } from 'postgres'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { ResolvedConfig } from '../config/resolved.ts'
import type { Guard } from '../http/guard.ts'
import type { Db, DbPool, SlotName, Slots } from '../ports/index.ts'
import type { RedisClient, RedisConnections } from '../types.ts'

/** Services a plugin can ask the core to connect to. */
export type Service = 'postgres' | 'redis'

export interface PluginManifest {
  /** Unique name, kebab-case; what `requires.plugins` of others refers to. */
  name: string
  /** The plugin's own version, shown in the console's status view. */
  version?: string
  /** Semver range of the core this plugin supports, e.g. `^0.1.0`. */
  core: string
  /** Slots this plugin fills. At most one plugin may fill each slot. */
  provides?: SlotName[]
  requires?: {
    /** Plugins that must be listed too. */
    plugins?: string[]
    /** Shared connections the core must have open (`postgres` means not the embedded database). */
    services?: Service[]
  }
}

export interface PluginContext {
  config: ResolvedConfig
  logger: Logger
  /** Register metrics here; they appear on `/metrics`. */
  metrics: Registry
  /** The primary database (Drizzle), opened once by the core. */
  db: Db
  /** The postgres.js client behind `db`, when the database is PostgreSQL (not gated by the pool's size). */
  postgres?: Sql
  /** The core's pool behind `db` (its size, in use, waiting, `resize`): what a dbPool plugin sizes. */
  pool?: DbPool
  /** Which process this is: an `api` instance or a `worker` (`npm run worker`). */
  role?: 'api' | 'worker'
  /** Slots filled by plugins set up before this one, and defaults created so far. */
  slots: Readonly<Partial<Slots>>
  /**
   * The shared Redis command connection (ioredis), opened once by the core when any plugin
   * lists `redis` in `requires.services`; every command times out after `redis.commandTimeout`.
   * Keys are not prefixed for you: start them with `config.redis.keyPrefix`, and hash-tag the
   * id (`{id}`) so they work on Redis Cluster. Closed by the core after every plugin stopped.
   */
  redis?: RedisClient
  /** The shared subscriber connection, opened on first call. */
  redisSubscriber?: RedisConnections['subscriber']
  /** A dedicated connection for a library that needs its own (blocking commands, a queue); the core closes it. */
  redisConnection?: RedisConnections['dedicated']
}

/** What a plugin's routes can use once every slot is wired. */
export interface PluginApi {
  /** The core's guard: `{ auth: 'api' | 'sync' | 'chat' }` or `{ anonymous: true }` on a route. */
  guard: Guard
  slots: Readonly<Slots>
}

export interface PluginSetup {
  slots?: Partial<Slots>
  /**
   * Routes and hooks, mounted before the core's routes (so global hooks see every route). A function is called once all slots are
   * wired, for routes that need the guard (authentication and rate limits) or other slots.
   */
  app?: AnyElysia | ((api: PluginApi) => AnyElysia)
}

export type HealthResult = 'ok' | { status: 'ok' | 'degraded' | 'down'; detail?: string }

export interface ScalePlugin {
  manifest: PluginManifest
  /** The options it was made with, for tools that read the config (`npm run cli -- doctor`). */
  options?: object
  setup(ctx: PluginContext): PluginSetup | Promise<PluginSetup>
  health?(): Promise<HealthResult> | HealthResult
  /** Release what `setup` took. Called once per process stop; must be safe to call twice. */
  stop?(): Promise<void> | void
}

/** A plugin in `config.plugins`: the plugin itself, an npm package name, or `[name, options]`. */
export type PluginEntry = ScalePlugin | string | [string, Record<string, unknown>]
