/**
 * Database routing slot: which connection serves a query.
 *
 * Contract: `write()` always returns the primary; `read(userId?)` may return a replica,
 * but after a user's write it returns something that sees that write (read-your-writes):
 * await `wrote(userId)` after the commit, before answering the client. `read()` and
 * `wrote()` may answer synchronously (the default does, so awaiting them costs nothing but a
 * microtask). Left out on purpose: pool sizing and SQL.
 */
import type { Db } from '../types.ts'

/** One read connection target, as a pool plugin or an operator sees it. */
export interface ReadTargetStats {
  /** Where it points, without credentials (`host:port/db`). */
  name: string
  /** `up` is in rotation; `lagging` and `down` are out until a poll finds them fit again. */
  state: 'starting' | 'up' | 'lagging' | 'down'
  /** Configured maximum connections of its pool. */
  max: number
  lagSeconds: number
  lagBytes: number
  /** Reads it served since start. */
  reads: number
}

export interface DbRouter {
  write(): Db
  read(userId?: string): Db | Promise<Db>
  wrote(userId: string): void | Promise<void>
  /** The read targets besides the primary (replicas), for metrics and pool sizing. Cheap. */
  readTargets?(): ReadTargetStats[]
  stop?(): Promise<void>
}
