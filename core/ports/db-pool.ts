/**
 * Database pool slot: the connections queries run on, how many, and how long a query may
 * wait for one.
 *
 * Contract: `db` is a Drizzle database on the shared schema; `stats()` is cheap and safe to
 * call per scrape; `close()` is idempotent. Left out on purpose: which server a query goes
 * to (that is the db router's job) and schema migrations. The default pool is static; live
 * sizing, acquire timeouts and the slow-query log are what `pool-tuner` adds.
 */
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type * as schema from '../db/schema.ts'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

export interface PoolStats {
  driver: 'pglite' | 'postgres'
  /** Configured maximum connections (1 for the embedded database). */
  max: number
}

export interface DbPool {
  db: Db
  stats(): PoolStats
  close(): Promise<void>
}
