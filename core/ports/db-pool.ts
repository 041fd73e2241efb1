/**
 * Database pool slot: the connections queries run on, how many, and how long a query may
 * wait for one.
 *
 * Contract: `db` is a Drizzle database on the shared schema; `stats()` is cheap and safe to
 * call per scrape; `close()` is idempotent; a pool that can change its size says so with
 * `resize`. Left out on purpose: which server a query goes to (that is the db router's job)
 * and schema migrations. The acquire timeout and the slow-query log are the core's, whatever
 * fills the slot; the default pool keeps the size it was given, `pool-tuner` resizes it from
 * the server's `max_connections` and the live processes.
 */
import type { Db } from '../types.ts'

export type { Db }

export interface PoolStats {
  driver: 'pglite' | 'postgres'
  /** Most connections the pool can ever open (`database.pool.max`; 1 for the embedded database). */
  max: number
  /** Connections the pool has now (at most `max`); `pool-tuner` changes it. */
  size: number
  /** Queries and transactions let in now (up to `size × database.pool.pipeline`). */
  inUse: number
  /** Queries waiting for a connection now. */
  waiting: number
}

export interface DbPool {
  db: Db
  stats(): PoolStats
  /** Set how many queries may hold a connection at once (clamped to 1..max). */
  resize?(size: number): void
  close(): Promise<void>
}

/**
 * A pool `pool-tuner` can size against its own server: the primary's, and each replica's when
 * the db router exposes them (`DbRouter & { replicaPools(): SizedPool[] }`).
 */
export interface SizedPool {
  /** Shown in logs and metrics, e.g. `primary` or `replica-1`. */
  name: string
  /** Runs `SHOW max_connections` and friends on that server. */
  db: Db
  stats(): PoolStats
  resize(size: number): void
}
