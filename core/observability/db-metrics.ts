/**
 * Database metrics and the slow-query log: statement durations by operation, the pool's size,
 * queries in flight and waiting, how long they wait for a connection, and acquire timeouts.
 * A statement slower than `database.slowQuery` is logged as one JSON line with its SQL text
 * (placeholders, never the parameters), duration, request id and route.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Logger } from 'pino'
import type { GateEvents } from '../db/gate.ts'
import type { QueryObserver } from '../db/postgres-pool.ts'
import type { PoolStats } from '../ports/db-pool.ts'
import { currentRequest } from './request-context.ts'

const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'with'])
const TRANSACTION = new Set(['begin', 'commit', 'rollback', 'savepoint', 'release', 'start'])
const FIRST_WORD = /^[\s(]*([a-zA-Z]+)/

/** The statement's kind, from its first word: select, insert, update, delete, with, transaction or other. */
export function operationOf(text: string | undefined): string {
  if (text === undefined) return 'transaction'
  const word = FIRST_WORD.exec(text)?.[1]?.toLowerCase() ?? ''
  return OPERATIONS.has(word) ? word : TRANSACTION.has(word) ? 'transaction' : 'other'
}

/** Longest SQL text a log line carries. */
const MAX_SQL = 4000

export interface DbObservers extends GateEvents {
  onQuery: QueryObserver
}

/** @example openDatabase(config.database, createDbObservers({ registry, logger, slowQueryMs: 100 })) */
export function createDbObservers(opts: { registry: Registry; logger: Logger; slowQueryMs: number }): DbObservers {
  const { logger, slowQueryMs } = opts
  const durations = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'Database statement durations by operation (transaction: a whole transaction)',
    labelNames: ['operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [opts.registry],
  })
  const acquireWait = new Histogram({
    name: 'db_pool_acquire_wait_seconds',
    help: 'How long queries waited for a database connection',
    buckets: [0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10],
    registers: [opts.registry],
  })
  const timeouts = new Counter({
    name: 'db_pool_acquire_timeouts_total',
    help: 'Queries that gave up waiting for a database connection (answered 503 OVERLOADED)',
    registers: [opts.registry],
  })
  // One child per operation, so the hot path skips the label lookup.
  const children = new Map<string, Histogram.Internal<string>>()
  const child = (op: string) => children.get(op) ?? children.set(op, durations.labels(op)).get(op)!
  return {
    onQuery(text, ms) {
      child(operationOf(text)).observe(ms / 1000)
      if (ms < slowQueryMs || text === undefined) return
      const req = currentRequest()
      logger.warn(
        {
          sql: text.length > MAX_SQL ? `${text.slice(0, MAX_SQL)}…` : text,
          ms: Math.round(ms * 10) / 10,
          reqId: req?.reqId,
          route: req?.route,
        },
        'slow query',
      )
    },
    onAcquire: (waitMs) => acquireWait.observe(waitMs / 1000),
    onTimeout: () => timeouts.inc(),
  }
}

/** Pool gauges read at scrape time. */
export function registerPoolGauges(registry: Registry, stats: () => PoolStats): void {
  const gauge = (name: string, help: string, read: (s: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(stats()))
      },
    })
  gauge('db_pool_size', 'Database connections this process may hold (set by pool-tuner when present)', (s) => s.size)
  gauge('db_pool_in_use', 'Queries and transactions let into the database pool now (up to size x pipeline)', (s) => s.inUse)
  gauge('db_pool_waiting', 'Queries waiting for a database connection now', (s) => s.waiting)
}
