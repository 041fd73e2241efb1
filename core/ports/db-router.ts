/**
 * Database routing slot: which connection serves a query.
 *
 * Contract: `write()` always returns the primary; `read(userId?)` may return a replica,
 * but after a user's write it returns something that sees that write (read-your-writes);
 * call `wrote(userId)` after committing. Left out on purpose: pool sizing and SQL.
 */
import type { Db } from './db-pool.ts'

export interface DbRouter {
  write(): Db
  read(userId?: string): Db
  wrote(userId: string): void
  stop?(): Promise<void>
}
