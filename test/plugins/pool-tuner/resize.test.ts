/**
 * The core pool resized on real PostgreSQL: shrinking below the connections the client has
 * opened replaces it, so the server sees the excess connections close while queries keep
 * running; growing lets more queries through at once.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { resolveConfig } from '../../../core/config/load.ts'
import { rowsOf } from '../../../core/db/budget.ts'
import { openDatabase, type Database } from '../../../core/db/open.ts'
import { HOOK_TIMEOUT } from '../../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../../helpers/services.ts'

describeWith('core pool resize [postgres]', await postgresMissing(), () => {
  let pg: { url: string; drop(): Promise<void> }
  let database: Database
  beforeAll(async () => {
    pg = await freshPostgresDatabase()
    database = await openDatabase(resolveConfig({ database: { url: pg.url, pool: { max: 6 } } }).database)
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await database?.close()
    await pg?.drop()
  }, HOOK_TIMEOUT)

  const sleepers = (n: number, s = 0.3) => Promise.all(Array.from({ length: n }, () => database.db.execute(sql`select pg_sleep(${s})`)))
  /** Connections to this database, seen by the server (the counting query's own included). */
  const serverConnections = async () =>
    rowsOf<{ n: number }>(
      await database.db.execute(sql`select count(*)::int as n from pg_stat_activity where datname = current_database()`),
    )[0]!.n

  test('shrinking closes the excess connections on the server; in-flight queries finish', async () => {
    await sleepers(6)
    expect(await serverConnections()).toBe(6)
    const inFlight = sleepers(4, 0.5)
    await Bun.sleep(100)
    database.pool!.resize(2)
    expect(database.pool!.stats().size).toBe(2)
    await inFlight // the queries running at the shrink finish on the old client
    await sleepers(6, 0.05) // new ones queue behind 2
    let n = Infinity
    for (let i = 0; i < 50 && n > 2; i++) {
      n = await serverConnections()
      if (n > 2) await Bun.sleep(100)
    }
    expect(n).toBeLessThanOrEqual(2)
  }, 30_000)

  test('growing lets more queries run at once', async () => {
    database.pool!.resize(5)
    const running = sleepers(5, 0.4)
    await Bun.sleep(200)
    expect(database.pool!.stats().inUse).toBe(5)
    await running
  }, 30_000)
})
