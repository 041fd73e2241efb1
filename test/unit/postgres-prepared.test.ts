/**
 * Statements through the core pool on real PostgreSQL: one with parameters is prepared on its
 * connection (one round trip from then on, no new parse and plan); one with more than
 * PREPARED_MAX_PARAMS parameters is not (a text that varies with its input would leave a
 * statement per size on the connection); and a client for a transaction-mode pooler
 * prepares nothing.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { resolveConfig } from '../../core/config/load.ts'
import { rowsOf } from '../../core/db/budget.ts'
import { openDatabase, type Database } from '../../core/db/open.ts'
import { PREPARED_MAX_PARAMS } from '../../core/db/postgres-pool.ts'
import { HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../helpers/services.ts'

describeWith('statements prepared by the core pool [postgres]', await postgresMissing(), () => {
  let pg: { url: string; drop(): Promise<void> }
  const opened: Database[] = []
  // One connection, so the statement and the look at pg_prepared_statements share a session.
  const open = async (pooler?: 'transaction') => {
    const d = await openDatabase(resolveConfig({ database: { url: pg.url, pool: { max: 1 }, ...(pooler && { pooler }) } }).database)
    opened.push(d)
    return d
  }
  const preparedLike = async (d: Database, marker: string) =>
    rowsOf<{ n: number }>(
      await d.db.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like ${`%${marker}%`}`),
    )[0]!.n

  beforeAll(async () => {
    pg = await freshPostgresDatabase()
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    for (const d of opened) await d.close()
    await pg?.drop()
  }, HOOK_TIMEOUT)

  test('a statement with parameters is prepared once on its connection and reused', async () => {
    const d = await open()
    for (let i = 0; i < 3; i++) {
      const rows = rowsOf<{ v: number }>(await d.db.execute(sql`select ${i}::int + 1 as v /* marker-small */`))
      expect(rows[0]!.v).toBe(i + 1)
    }
    expect(await preparedLike(d, 'marker-small')).toBe(1)
  })

  test(`one with more than ${PREPARED_MAX_PARAMS} parameters is not prepared`, async () => {
    const d = await open()
    const many = Array.from({ length: PREPARED_MAX_PARAMS + 1 }, (_, i) => sql`${i}::int`)
    const rows = rowsOf<{ n: number }>(
      await d.db.execute(sql`select array_length(array[${sql.join(many, sql`, `)}], 1) as n /* marker-big */`),
    )
    expect(rows[0]!.n).toBe(PREPARED_MAX_PARAMS + 1)
    expect(await preparedLike(d, 'marker-big')).toBe(0)
  })

  test('behind a transaction-mode pooler nothing is prepared', async () => {
    const d = await open('transaction')
    await d.db.execute(sql`select ${1}::int as v /* marker-pooler */`)
    await d.db.execute(sql`select ${2}::int as v /* marker-pooler */`)
    expect(await preparedLike(d, 'marker-pooler')).toBe(0)
  })
})
