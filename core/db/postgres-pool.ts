/**
 * The PostgreSQL pool as the core runs it: a postgres.js client of `size` connections behind
 * a gate (core/db/gate.ts) that lets `size × pipeline` queries in at once and bounds the wait
 * for a place, with every statement timed for the slow-query log and metrics.
 *
 * Resizing lowers or raises the gate at once (queries in flight finish; new ones wait until
 * there is room) and replaces the client by one of the new size: new queries go to it, the
 * old one ends once its last query or transaction is done. postgres.js fixes its size when
 * created, and hands out its longest-idle connection first, so under steady load excess
 * connections would otherwise never idle out.
 */
import type { Sql } from 'postgres'
import { createGate, type Gate, type GateEvents, type GateStats } from './gate.ts'

/** Called after each statement (`text`) or transaction (`text` undefined) with its duration. */
export type QueryObserver = (text: string | undefined, ms: number) => void

export interface PostgresPoolOptions extends GateEvents {
  size: number
  /** Queries sent on one connection at once (postgres.js pipelines them). */
  pipeline: number
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

/**
 * Statements with at most this many parameters are prepared (see {@link statementOptions});
 * the runtime's own have a handful, or one JSON array for a batch.
 */
export const PREPARED_MAX_PARAMS = 32
const PREPARED = { prepare: true }

/**
 * What a statement is sent with. postgres.js sends a statement with parameters that is not
 * prepared in two round trips (parse and describe, then bind and execute), and Drizzle asks
 * for unprepared ones unless a query is named; a prepared one costs one round trip, and the
 * server neither parses nor plans it again on that connection. So statements are prepared,
 * except those above {@link PREPARED_MAX_PARAMS} parameters: a text that varies with its
 * input (a multi-row insert, an `in` list) is a new statement per size, and a connection
 * would keep every one. A client made with `prepare: false` (behind a transaction-mode
 * pooler) prepares nothing whatever a statement asks.
 */
export function statementOptions(params: unknown[] | undefined, options: object | undefined): object | undefined {
  if ((params?.length ?? 0) > PREPARED_MAX_PARAMS) return options
  return options ? { ...options, prepare: true } : PREPARED
}

/** @example createPostgresPool((max) => postgres(url, { max }), { size: 10, pipeline: 1, acquireTimeoutMs: 5000 }) */
export function createPostgresPool(connect: (max: number) => Sql, opts: PostgresPoolOptions): PostgresPool {
  const pipeline = Math.max(1, opts.pipeline)
  let size = Math.max(1, opts.size)
  const gate = createGate({ size: size * pipeline, timeoutMs: opts.acquireTimeoutMs, onAcquire: opts.onAcquire, onTimeout: opts.onTimeout })
  const observe = opts.onQuery
  let current = connect(size)
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
    const start = performance.now()
    try {
      const q = (gated ? current : client).unsafe(text, params as never[], statementOptions(params, options))
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
    current = connect(size)
    // Drizzle set its type parsers on the first client; the new one needs the same.
    Object.assign(current.options.parsers, old.options.parsers)
    Object.assign(current.options.serializers, old.options.serializers)
    const done = old.end({ timeout: RETIRE_TIMEOUT_S }).finally(() => retiring.delete(done))
    retiring.add(done)
  }

  let closing: Promise<void> | undefined
  return {
    gated,
    raw,
    gate,
    resize(n) {
      const next = Math.max(1, Math.floor(n))
      if (next === size) return
      size = next
      gate.resize(size * pipeline)
      replace()
    },
    stats: () => ({ ...gate.stats(), size }),
    close: () =>
      (closing ??= (async () => {
        gate.close()
        await Promise.all([current.end({ timeout: 5 }), ...retiring])
      })()),
  }
}
