/**
 * The PostgreSQL pool as the core runs it: a postgres.js client opened at `database.pool.max`
 * behind a gate (core/db/gate.ts) that sets how many queries hold a connection at once and
 * bounds the wait for one, with every statement timed for the slow-query log and metrics.
 *
 * Resizing: growing only lets more queries through. Shrinking lowers the gate at once (queries
 * in flight finish; new ones wait until fewer than the new size run), and when the client may
 * hold more connections than the new size it is replaced: new queries go to a fresh client,
 * the old one ends once its last query or transaction is done (postgres.js hands out its
 * longest-idle connection first, so under steady load excess connections would never idle out).
 */
import type { Sql } from 'postgres'
import { createGate, type Gate, type GateEvents, type GateStats } from './gate.ts'

/** Called after each statement (`text`) or transaction (`text` undefined) with its duration. */
export type QueryObserver = (text: string | undefined, ms: number) => void

export interface PostgresPoolOptions extends GateEvents {
  size: number
  acquireTimeoutMs: number
  onQuery?: QueryObserver
}

export interface PostgresPool {
  /** What Drizzle is given: `unsafe` and `begin` go through the gate and are timed. */
  gated: Sql
  /** The current client, ungated (for plugins that use postgres.js directly). */
  raw: Sql
  gate: Gate
  resize(size: number): void
  stats(): GateStats
  close(): Promise<void>
}

/** How long a replaced client may take to finish its queries before they are cut off. */
const RETIRE_TIMEOUT_S = 60

export function createPostgresPool(connect: () => Sql, opts: PostgresPoolOptions): PostgresPool {
  const gate = createGate({ size: opts.size, timeoutMs: opts.acquireTimeoutMs, onAcquire: opts.onAcquire, onTimeout: opts.onTimeout })
  const observe = opts.onQuery
  let current = connect()
  // Connections the current client may hold: the most queries it has run at once.
  let peak = 0
  const retiring = new Set<Promise<void>>()

  async function run(
    client: Sql,
    text: string,
    params: unknown[] | undefined,
    options: object | undefined,
    values: boolean,
    gated: boolean,
  ) {
    if (gated && !gate.tryAcquire()) await gate.acquire()
    if (gated) peak = Math.max(peak, gate.stats().inUse)
    const start = performance.now()
    try {
      const q = (gated ? current : client).unsafe(text, params as never[], options)
      return await (values ? q.values() : q)
    } finally {
      if (gated) gate.release()
      observe?.(text, performance.now() - start)
    }
  }

  /** A lazy query like postgres.js's own: runs when awaited, `.values()` asks for rows as arrays. */
  function pending(client: Sql, gated: boolean, text: string, params?: unknown[], options?: object) {
    let values = false
    const q = {
      values() {
        values = true
        return q
      },
      then(ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) {
        return run(client, text, params, options, values, gated).then(ok, fail)
      },
    }
    return q
  }

  /** A transaction's client: its statements are timed; they already hold the transaction's slot. */
  function inTransaction(tx: Sql): Sql {
    return {
      options: tx.options,
      unsafe: (text: string, params?: unknown[], options?: object) => pending(tx, false, text, params, options),
      savepoint: (fn: (sp: Sql) => unknown) => (tx as unknown as { savepoint: Function }).savepoint((sp: Sql) => fn(inTransaction(sp))),
    } as unknown as Sql
  }

  async function begin(...args: unknown[]) {
    const fn = args.pop() as (tx: Sql) => unknown
    if (!gate.tryAcquire()) await gate.acquire()
    peak = Math.max(peak, gate.stats().inUse)
    const start = performance.now()
    try {
      return await (current.begin as Function)(...args, (tx: Sql) => fn(inTransaction(tx)))
    } finally {
      gate.release()
      observe?.(undefined, performance.now() - start)
    }
  }

  const gated = {
    get options() {
      return current.options
    },
    unsafe: (text: string, params?: unknown[], options?: object) => pending(current, true, text, params, options),
    begin,
  } as unknown as Sql

  // Always the current client, so a plugin holding it keeps working across a replacement.
  const raw = new Proxy(function () {} as unknown as Sql, {
    apply: (_t, _this, args) => (current as unknown as Function)(...args),
    get: (_t, prop) => {
      const v = Reflect.get(current, prop)
      return typeof v === 'function' ? v.bind(current) : v
    },
  })

  function replace() {
    const old = current
    current = connect()
    // Drizzle set its type parsers on the first client; the new one needs the same.
    Object.assign(current.options.parsers, old.options.parsers)
    Object.assign(current.options.serializers, old.options.serializers)
    peak = gate.stats().inUse
    const done = old.end({ timeout: RETIRE_TIMEOUT_S }).finally(() => retiring.delete(done))
    retiring.add(done)
  }

  let closing: Promise<void> | undefined
  return {
    gated,
    raw,
    gate,
    resize(size) {
      const n = Math.max(1, Math.floor(size))
      gate.resize(n)
      if (n < peak) replace()
    },
    stats: () => gate.stats(),
    close: () =>
      (closing ??= (async () => {
        gate.close()
        await Promise.all([current.end({ timeout: 5 }), ...retiring])
      })()),
  }
}
