/**
 * The default db pool: the one connection pool the core opened, at the size config gives it
 * (`database.pool.max`), which nothing changes unless a plugin calls `resize` (`pool-tuner`
 * does, from the server's limits; it is given this pool as `ctx.pool`).
 */
import type { Database } from '../db/open.ts'
import type { DbPool, PoolStats } from '../ports/db-pool.ts'

/** Stats of the core's pool (the embedded database is one connection, with nothing to count). */
export function databaseStats(database: Database, max: number): PoolStats {
  if (!database.pool) return { driver: database.driver, max: 1, size: 1, inUse: 0, waiting: 0 }
  return { driver: database.driver, max, ...database.pool.stats() }
}

export function createStaticPool(database: Database, max: number): DbPool {
  return {
    db: database.db,
    stats: () => databaseStats(database, max),
    ...(database.pool && { resize: (n: number) => database.pool!.resize(Math.min(max, n)) }),
    close: () => database.close(),
  }
}
