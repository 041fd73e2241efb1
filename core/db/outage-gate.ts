/**
 * Fail fast while PostgreSQL is out of reach. postgres.js queues every query while its
 * connections retry with a backoff that grows to 20 s, so during an outage requests pile up
 * and hang. The gate trips when a connection attempt fails, and for `openMs` after that a new
 * query is refused at once (the caller answers 503 UNAVAILABLE); then one round of queries is
 * let through again, which either reconnects (the gate stays open) or trips it again.
 */
import type { Sql } from 'postgres'

/** The error code of a query refused by the gate (see db/errors.ts). */
export const DATABASE_DOWN = 'DATABASE_DOWN'

export interface OutageGate {
  /** postgres.js `backoff` option: seconds before a connection retries, after `retries` failures in a row. */
  backoff(retries: number): number
  /** The client, with its queries refused while the gate is tripped. */
  guard(client: Sql): Sql
}

export function createOutageGate(opts: { openMs: number; now?: () => number }): OutageGate {
  const now = opts.now ?? (() => performance.now())
  let trippedUntil = 0

  const refuse = () => {
    if (now() >= trippedUntil) return
    const e = new Error('the database was unreachable moments ago; the query was not sent') as Error & { code: string }
    e.code = DATABASE_DOWN
    throw e
  }

  return {
    backoff(retries) {
      // Called on every close; `retries` counts failed connection attempts in a row.
      if (retries > 0) trippedUntil = now() + opts.openMs
      // Short and capped (postgres.js grows it to 20 s): recovery within a second of the database's return.
      return Math.min(0.05 * 2 ** retries, 0.5)
    },
    guard(client) {
      return new Proxy(client, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver)
          if (prop !== 'unsafe' && prop !== 'begin' && prop !== 'reserve') return value
          return (...args: unknown[]) => {
            refuse()
            return (value as (...a: unknown[]) => unknown).apply(target, args)
          }
        },
      })
    },
  }
}
