/**
 * The embedded database as Drizzle gets it: a view of the PGlite instance whose `query` and
 * `transaction` run statements as named ones (pglite-prepared.ts), report each statement's
 * duration (for the slow-query log and metrics), and spare PGlite a copy of its parser table
 * on every query (see `PGLITE_PARSERS`). PGlite is one connection that queues its own
 * callers, so there is no gate in front of it.
 */
import type { PGlite } from '@electric-sql/pglite'
import { preparedStatements, type PreparedQuery } from './pglite-prepared.ts'
import type { QueryObserver } from './postgres-pool.ts'

type Queryable = Pick<PGlite, 'query'>

const raw = (value: string) => value
/**
 * What Drizzle's PGlite driver passes as `parsers` with every query: timestamps, intervals,
 * dates and numeric arrays (by type OID) kept as text. PGlite merges per-query parsers into a
 * copy of its whole table each time (about an eighth of the server's CPU on a chat turn), so
 * the instance is created with them (`new PGlite(dir, { parsers: PGLITE_PARSERS })`) and the
 * per-query copy is dropped by `stripParsers`.
 */
export const PGLITE_PARSERS: Record<number, (value: string) => unknown> = {
  1114: raw, // timestamp
  1184: raw, // timestamptz
  1186: raw, // interval
  1082: raw, // date
  1231: raw, // numeric[]
  1115: raw, // timestamp[]
  1185: raw, // timestamptz[]
  1187: raw, // interval[]
  1182: raw, // date[]
}

const stripped = new WeakMap<object, object>()

/** `options` without `parsers` when they only ask for what the instance already does (Drizzle's set), cached per options object. */
function stripParsers(options?: object): object | undefined {
  const parsers = (options as { parsers?: Record<string, unknown> } | undefined)?.parsers
  if (!options || !parsers) return options
  let out = stripped.get(options)
  if (!out) {
    const same = Object.keys(parsers).every((oid) => Object.hasOwn(PGLITE_PARSERS, oid))
    out = same ? { ...options, parsers: undefined } : options
    stripped.set(options, out)
  }
  return out
}

function timedQuery(target: Queryable, prepared: PreparedQuery, inTransaction: boolean, observe?: QueryObserver) {
  return async (text: string, params?: unknown[], options?: object) => {
    const start = performance.now()
    try {
      const opts = stripParsers(options)
      return await (prepared(text, params, opts, inTransaction) ?? target.query(text, params, opts))
    } finally {
      observe?.(text, performance.now() - start)
    }
  }
}

/** `pglite` must have been created with `parsers: PGLITE_PARSERS`. */
export function timePglite(pglite: PGlite, observe?: QueryObserver): PGlite {
  const prepared = preparedStatements(pglite)
  const query = timedQuery(pglite, prepared, false, observe)
  const transaction = async (fn: (tx: unknown) => unknown) => {
    const start = performance.now()
    try {
      return await pglite.transaction(
        (tx) => fn(new Proxy(tx, { get: (t, p) => (p === 'query' ? timedQuery(t, prepared, true, observe) : Reflect.get(t, p)) })) as never,
      )
    } finally {
      observe?.(undefined, performance.now() - start)
    }
  }
  return new Proxy(pglite, {
    get(target, prop) {
      if (prop === 'query') return query
      if (prop === 'transaction') return transaction
      const v = Reflect.get(target, prop)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}
