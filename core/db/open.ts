/**
 * Opens the primary database once per process: embedded PGlite in a data folder when no
 * `DATABASE_URL` is set, PostgreSQL through postgres.js otherwise. Drivers load lazily.
 */
import { mkdirSync } from 'node:fs'
import type { PGlite } from '@electric-sql/pglite'
import type { Sql } from 'postgres'
import type { ResolvedConfig } from '../config/define.ts'
import type { Db } from '../ports/db-pool.ts'
import { createOutageGate } from './outage-gate.ts'
import * as schema from './schema.ts'

export interface Database {
  driver: 'pglite' | 'postgres'
  db: Db
  /** The postgres.js client, when the database is PostgreSQL. */
  postgres?: Sql
  pglite?: PGlite
  close(): Promise<void>
}

/** The database part of the config; `statementTimeoutMs` may be left out by tools that open a database directly. */
type DatabaseConfig = Omit<ResolvedConfig['database'], 'statementTimeoutMs'> & { statementTimeoutMs?: number }

export async function openDatabase(cfg: DatabaseConfig): Promise<Database> {
  if (cfg.url) {
    const { default: postgres } = await import('postgres')
    const { drizzle } = await import('drizzle-orm/postgres-js')
    const gate = createOutageGate({ openMs: 1_000 })
    const raw = postgres(cfg.url, {
      max: cfg.pool.max,
      // Bounds each connection attempt, so an unreachable server fails queries in seconds.
      connect_timeout: Math.max(1, Math.ceil(cfg.pool.acquireTimeoutMs / 1000)),
      backoff: gate.backoff,
      idle_timeout: 60,
      // Bounds each statement on the server: a stuck query ends with 57014 (answered as 503).
      ...(cfg.statementTimeoutMs !== undefined && { connection: { statement_timeout: cfg.statementTimeoutMs } }),
      onnotice: () => {},
    })
    const client = gate.guard(raw)
    let closed: Promise<void> | undefined
    return {
      driver: 'postgres',
      db: drizzle(client, { schema }) as unknown as Db,
      postgres: client,
      close: () => (closed ??= raw.end({ timeout: 5 })),
    }
  }
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  if (cfg.dataDir !== 'memory://') mkdirSync(cfg.dataDir, { recursive: true })
  const pglite = new PGlite(cfg.dataDir === 'memory://' ? undefined : cfg.dataDir)
  await pglite.waitReady
  let closed: Promise<void> | undefined
  return {
    driver: 'pglite',
    db: drizzle(pglite, { schema }) as unknown as Db,
    pglite,
    close: () => (closed ??= pglite.close()),
  }
}
