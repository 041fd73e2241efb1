/**
 * The lowest floor: types that config, ports, plugins, routes and services all name. This
 * module imports nothing of the runtime but the table definitions, so any layer may import
 * it without closing a loop.
 */
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type * as schema from './db/schema.ts'

/** A user's plan; each has its own limits (`tiers` in the config). */
export type Tier = 'free' | 'paid'
export const TIERS: readonly Tier[] = ['free', 'paid']

/** A Drizzle database on the shared schema, whichever driver is under it. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** A Redis connection as plugins see it: one server (also behind Sentinel) or a Cluster. */
export type RedisClient = Redis | Cluster

/** The core's Redis connections, opened once when a plugin requires Redis (core/redis/connect.ts). */
export interface RedisConnections {
  /** The shared command connection. */
  client: RedisClient
  /** The shared subscriber connection, opened on first call. */
  subscriber(): RedisClient
  /** A connection of its own for a library that needs one (e.g. blocking commands); closed by the core. */
  dedicated(name: string, overrides?: Partial<RedisOptions>): RedisClient
  /** `ok`, or `degraded: <why>` (see README: a shared Redis down does not take every instance out of the load balancer). */
  health(): Promise<string>
  /** Close every connection; safe to call twice. */
  close(): Promise<void>
}
