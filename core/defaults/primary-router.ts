/** The default db router: every query, read or write, goes to the primary. `replica-router` replaces it. */
import type { DbPool } from '../ports/db-pool.ts'
import type { DbRouter } from '../ports/db-router.ts'

export function createPrimaryRouter(pool: DbPool): DbRouter {
  return {
    write: () => pool.db,
    read: () => pool.db,
    wrote: () => {},
  }
}
