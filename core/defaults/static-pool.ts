/**
 * The default db pool: the one connection pool the core opened, sized by config
 * (`database.pool.max`), never resized. `pool-tuner` replaces it.
 */
import type { Database } from '../db/open.ts'
import type { DbPool } from '../ports/db-pool.ts'

export function createStaticPool(database: Database, max: number): DbPool {
  const size = database.driver === 'pglite' ? 1 : max
  return {
    db: database.db,
    stats: () => ({ driver: database.driver, max: size}),
    close: () => database.close(),
  }
}
