/** A private primary with one streaming replica and a migrated database on both, for the replica-router tests. */
import { resolveConfig } from '../../../core/config/load.ts'
import postgres from 'postgres'
import { migrateDatabase } from '../../../core/db/migrate.ts'
import { openDatabase, type Database } from '../../../core/db/open.ts'
import { type PrivatePostgres, startPrivatePostgres, startReplica } from '../../helpers/private-postgres.ts'

export interface Cluster {
  primary: PrivatePostgres
  replica: PrivatePostgres
  /** URLs of the test database on each. */
  primaryUrl: string
  replicaUrl: string
  remove(): Promise<void>
}

const withDb = (url: string, db: string) => url.replace(/\/postgres$/, `/${db}`)

/** `replicaSettings` go into the replica's postgresql.conf (e.g. a recovery_min_apply_delay). */
export async function startCluster(replicaSettings: Record<string, string> = {}): Promise<Cluster> {
  const primary = await startPrivatePostgres({ settings: { max_connections: '60' } })
  let replica: PrivatePostgres | undefined
  try {
    // The replica first: pg_basebackup of a fresh cluster is quick, while after writes it waits
    // for a spread checkpoint (minutes). The database and schema then reach it by streaming.
    replica = await startReplica(primary, { settings: { max_connections: '60', ...replicaSettings } })
    const r = replica
    await primary.sql('create database app')
    const primaryUrl = withDb(primary.url, 'app')
    const database = await openPrimary(primaryUrl)
    await migrateDatabase(database).finally(() => database.close())
    await waitForReplay(primary, r)
    return {
      primary,
      replica: r,
      primaryUrl,
      replicaUrl: withDb(r.url, 'app'),
      async remove() {
        await r.remove()
        await primary.remove()
      },
    }
  } catch (e) {
    await replica?.remove()
    await primary.remove()
    throw e
  }
}

/** Wait until the replica has replayed everything the primary has written so far. */
export async function waitForReplay(primary: PrivatePostgres, replica: PrivatePostgres, ms = 30_000): Promise<void> {
  const [{ lsn }] = await primary.sql<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')
  const caughtUp = async () => {
    const [row] = await replica.sql<{ ok: boolean }>(`select pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn as ok`)
    return row?.ok === true
  }
  if ((await within(ms, caughtUp)) < 0) throw new Error(`the replica did not replay ${lsn} in ${ms} ms`)
}

/** Open (and later close) the primary database the way the core does. */
export const openPrimary = (url: string): Promise<Database> =>
  openDatabase(resolveConfig({ database: { url, pool: { max: 4 } } }).database)

/** Poll `check` every 20 ms until it is true or `ms` passed; returns the time it took, or -1. */
export async function within(ms: number, check: () => boolean | Promise<boolean>): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start
    await Bun.sleep(20)
  }
  return (await check()) ? Date.now() - start : -1
}

/** Tier limits far above what the tests send, so no request is refused with 429. */
export const NO_LIMITS = {
  free: { requestsPerMinute: { api: 1_000_000, sync: 1_000_000 }, chatPerMinute: 1000, maxTokens: 512 },
  paid: { requestsPerMinute: { api: 1_000_000, sync: 1_000_000 }, chatPerMinute: 1000, maxTokens: 512 },
}

/** Scans of the conversations table in the database at `url` (pg_stat_user_tables, also kept on a standby). */
export async function conversationScans(url: string): Promise<number> {
  const c = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    const [row] = await c.unsafe<{ n: string | null }[]>(
      "select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as n from pg_stat_user_tables where relname = 'conversations'",
    )
    return Number(row?.n ?? 0)
  } finally {
    await c.end({ timeout: 1 })
  }
}
