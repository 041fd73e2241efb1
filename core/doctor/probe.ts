/**
 * What `doctor` asks the servers the config names: PostgreSQL's limits, open connections and
 * read/write mix; Redis's clients, memory and the live processes' heartbeats. Each probe is
 * bounded in time and answers `{ error }` rather than throwing.
 */
import { sql } from 'drizzle-orm'
import type { ResolvedConfig } from '../config/resolved.ts'
import { readServerLimits, rowsOf } from '../db/budget.ts'
import { openDatabase } from '../db/open.ts'
import { heartbeatKeys, liveProcesses } from '../redis/heartbeat.ts'
import type { PostgresProbe, RedisProbe } from './plan.ts'

const TIMEOUT_MS = 5000

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
    }),
  ])
}

export async function probePostgres(config: ResolvedConfig): Promise<PostgresProbe | { error: string }> {
  const database = await openDatabase({ ...config.database, pool: { ...config.database.pool, max: 1 } }).catch((e: Error) => e)
  if (database instanceof Error) return { error: database.message }
  try {
    const limits = await bounded(readServerLimits(database.db), 'PostgreSQL')
    const [mix] = rowsOf<{ reads: string | null; writes: string | null }>(
      await database.db.execute(
        sql`select tup_fetched::text as reads, (tup_inserted + tup_updated + tup_deleted)::text as writes from pg_stat_database where datname = current_database()`,
      ),
    )
    const reads = Number(mix?.reads ?? 0)
    const writes = Number(mix?.writes ?? 0)
    return { ...limits, ...(writes > 0 && { readsPerWrite: reads / writes }) }
  } catch (e) {
    return { error: (e as Error).message }
  } finally {
    await database.close()
  }
}

/** INFO's `key:value` lines as a map. */
const info = (text: string) => new Map(text.split(/\r?\n/).map((l) => l.split(':', 2) as [string, string]))

export async function probeRedis(config: ResolvedConfig, group: string): Promise<RedisProbe | { error: string }> {
  const { openRedis } = await import('../redis/connect.ts')
  const { createLogger } = await import('../observability/logger.ts')
  const { Registry } = await import('prom-client')
  const conns = await openRedis(config.redis, {
    logger: createLogger('silent'),
    metrics: new Registry(),
    connectTimeoutMs: TIMEOUT_MS,
  }).catch((e: Error) => e)
  if (conns instanceof Error) return { error: conns.message }
  try {
    const redis = conns.client
    const [clients, memory, live] = await bounded(
      Promise.all([
        redis.info('clients') as Promise<string>,
        redis.info('memory') as Promise<string>,
        liveProcesses(redis, heartbeatKeys(config.redis.keyPrefix, group)),
      ]),
      'Redis',
    )
    const c = info(clients)
    const m = info(memory)
    return {
      live,
      maxClients: Number(c.get('maxclients') ?? 10000),
      connectedClients: Number(c.get('connected_clients') ?? 0),
      usedMemory: Number(m.get('used_memory') ?? 0),
      maxMemory: Number(m.get('maxmemory') ?? 0),
      policy: m.get('maxmemory_policy') ?? 'unknown',
    }
  } catch (e) {
    return { error: (e as Error).message }
  } finally {
    await conns.close()
  }
}
