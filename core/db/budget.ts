/**
 * Connection budgets: what a PostgreSQL server lets applications open (`max_connections`
 * minus the reserved slots minus a headroom), and a process's fair part of it. `pool-tuner`
 * sizes pools with these; `doctor` plans with the same numbers.
 */
import { sql } from 'drizzle-orm'
import type { Db } from '../types.ts'

export interface ServerLimits {
  maxConnections: number
  /** `superuser_reserved_connections` plus `reserved_connections` (PostgreSQL 16+). */
  reserved: number
  /** Client connections open now, all databases and users. */
  current: number
}

/** Rows of a Drizzle `execute` on either driver (postgres.js: an array; PGlite: `{ rows }`). */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as T[]
}

/** Read the server's limits: one statement (the same settings `SHOW` prints). */
export async function readServerLimits(db: Db): Promise<ServerLimits> {
  const [row] = rowsOf<{ max: number; su: number; res: number; current: number }>(
    await db.execute(sql`select current_setting('max_connections')::int as max,
      current_setting('superuser_reserved_connections')::int as su,
      coalesce(current_setting('reserved_connections', true), '0')::int as res,
      (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as current`),
  )
  if (!row) throw new Error('the server returned no settings')
  return { maxConnections: Number(row.max), reserved: Number(row.su) + Number(row.res), current: Number(row.current) }
}

/** Connections the applications on this server may hold in all. */
export function budgetOf(limits: Pick<ServerLimits, 'maxConnections' | 'reserved'>, headroom: number): number {
  return Math.max(0, limits.maxConnections - limits.reserved - headroom)
}

export interface ShareInput {
  budget: number
  /** Live processes, this one included. */
  processes: number
  /** What the other live processes hold now (their published limits). */
  othersHold: number
  min: number
  max: number
}

/**
 * This process's next limit: its equal share, but never more than the others leave free (a
 * newcomer waits for the others to shrink before it grows), within `min` and `max`.
 * `min` wins over the budget: a floor can oversubscribe, which `doctor` reports.
 */
export function shareOf(i: ShareInput): number {
  const share = Math.floor(i.budget / Math.max(1, i.processes))
  const free = i.budget - i.othersHold
  return Math.max(i.min, Math.min(i.max, share, free))
}
