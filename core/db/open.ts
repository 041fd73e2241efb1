/**
 * Opens the primary database once per process: embedded PGlite in a data folder when no
 * `DATABASE_URL` is set, PostgreSQL through postgres.js otherwise. Drivers load lazily.
 */
import type { PGlite } from '@electric-sql/pglite'
import type { Sql } from 'postgres'
import type { ResolvedConfig } from '../config/resolved.ts'
import type { Db } from '../types.ts'
import { createOutageGate } from './outage-gate.ts'
import { pgliteFolder, type PgliteSettings } from './pglite-folder.ts'
import { PGLITE_PARSERS, timePglite } from './pglite-timed.ts'
import { createPostgresPool, type PostgresPool, type QueryObserver } from './postgres-pool.ts'
import type { GateEvents } from './gate.ts'
import * as schema from './schema.ts'

/** What the core watches on every statement and connection wait (metrics, slow-query log). */
export interface DbHooks extends GateEvents {
  onQuery?: QueryObserver
}

export interface Database {
  driver: 'pglite' | 'postgres'
  db: Db
  /** The postgres.js client, when the database is PostgreSQL. */
  postgres?: Sql
  pglite?: PGlite
  /** The gate and client behind `db` on PostgreSQL (size, in use, waiting, resize). */
  pool?: PostgresPool
  close(): Promise<void>
}

/** The database part of the config; `statementTimeoutMs` may be left out by tools that open a database directly. */
type DatabaseConfig = Omit<ResolvedConfig['database'], 'statementTimeoutMs'> & { statementTimeoutMs?: number }

/**
 * An embedded database for one process: PostgreSQL's 128 MB of shared buffers would be
 * touched by initdb and kept in the WebAssembly memory for good. 4 MB (512 pages) holds the
 * working set of the chat benchmarks; a page not in it is read from the data folder through
 * the OS's file cache. Against 8 MB it takes about 4 MiB off the idle process (145-149 MiB
 * against 148-153, the 150 it is allowed in between) with no change in CPU per chat turn
 * beyond the runs' spread; 16 MB kept it 8 MiB above. Data that outgrows this is a reason
 * for PostgreSQL, not for a bigger cache here.
 */
const PGLITE_SETTINGS: PgliteSettings = {
  postgresqlconf: ['shared_buffers = 4MB', 'wal_buffers = 512kB', 'maintenance_work_mem = 16MB', 'temp_buffers = 2MB'],
}

export async function openDatabase(cfg: DatabaseConfig, hooks: DbHooks = {}): Promise<Database> {
  if (cfg.url) {
    const { default: postgres } = await import('postgres')
    const { drizzle } = await import('drizzle-orm/postgres-js')
    const url = cfg.url
    const outage = createOutageGate({ openMs: 1_000 })
    const connect = (max: number) =>
      postgres(url, {
        max,
        // Bounds each connection attempt, so an unreachable server fails queries in seconds.
        connect_timeout: Math.max(1, Math.ceil(cfg.pool.acquireTimeoutMs / 1000)),
        backoff: outage.backoff,
        idle_timeout: cfg.pool.idleTimeoutMs / 1000,
        max_lifetime: cfg.pool.maxLifetimeMs / 1000,
        // A transaction-mode pooler (PgBouncer, Supavisor) hands each statement any server
        // connection, where a statement prepared on another one does not exist.
        prepare: cfg.pooler !== 'transaction',
        // Bounds each statement on the server: a stuck query ends with 57014 (answered as 503).
        // Sent as a startup parameter, which PgBouncer refuses ("unsupported startup
        // parameter"): behind a pooler, set it on the role (ALTER ROLE ... SET statement_timeout).
        ...(cfg.statementTimeoutMs !== undefined &&
          (cfg.pooler ?? 'none') === 'none' && { connection: { statement_timeout: cfg.statementTimeoutMs } }),
        onnotice: () => {},
      })
    const pool = createPostgresPool(connect, {
      size: cfg.pool.max,
      pipeline: cfg.pool.pipeline,
      acquireTimeoutMs: cfg.pool.acquireTimeoutMs,
      ...hooks,
    })
    return {
      driver: 'postgres',
      db: drizzle({ client: outage.guard(pool.gated), schema }) as unknown as Db,
      postgres: pool.raw,
      pool,
      close: () => pool.close(),
    }
  }
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  const folder = await pgliteFolder(PGlite, cfg.dataDir, PGLITE_SETTINGS)
  const pglite = new PGlite(folder.path, {
    ...PGLITE_SETTINGS,
    // Drizzle's own parsers, set once: Drizzle's per-query ones are then dropped (see pglite-timed.ts).
    parsers: PGLITE_PARSERS,
  })
  try {
    await pglite.waitReady
  } catch (err) {
    folder.dispose()
    throw err
  }
  let closed: Promise<void> | undefined
  return {
    driver: 'pglite',
    db: drizzle({ client: timePglite(pglite, hooks.onQuery), schema }) as unknown as Db,
    pglite,
    close: () => (closed ??= pglite.close().finally(folder.dispose)),
  }
}
