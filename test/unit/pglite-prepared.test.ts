/**
 * The embedded database's statements as Drizzle runs them (core/db/pglite-timed.ts): named
 * once, then bound and executed, with the same results, errors and transactions as
 * `PGlite.query`; calls it does not serve go to `query`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { resolveConfig } from '../../core/config/load.ts'
import { rowsOf } from '../../core/db/budget.ts'
import { openDatabase, type Database } from '../../core/db/open.ts'
import { PREPARED_MAX_PARAMS } from '../../core/db/postgres-pool.ts'
import { HOOK_TIMEOUT } from '../helpers/runtime.ts'

let database: Database
const pglite = () => database.pglite!

beforeAll(async () => {
  database = await openDatabase(resolveConfig({ database: { dataDir: 'memory://' } }).database)
  await pglite().exec(`create table kv (k text primary key, v jsonb, at timestamptz not null default now(), n int)`)
}, HOOK_TIMEOUT)
afterAll(() => database?.close(), HOOK_TIMEOUT)

/** The client Drizzle was given (the timed, prepared view of PGlite), for calls in Drizzle's own shapes. */
const client = () => (database.db as unknown as { $client: { query: Function } }).$client

/** Statements PGlite holds prepared whose text contains `marker`. */
const prepared = async (marker: string) =>
  (await pglite().query<{ n: number }>(`select count(*)::int as n from pg_prepared_statements where statement like $1`, [`%${marker}%`]))
    .rows[0]!.n

test('a statement is prepared once and gives what PGlite.query gives, rows as objects and as arrays', async () => {
  const text = `insert into kv (k, v, n) values ($1, $2, $3) returning k, v, n, at /* marker-insert */`
  for (let i = 0; i < 3; i++) {
    await database.db.execute(sql`insert into kv (k, v, n) values (${`k${i}`}, ${JSON.stringify({ i })}::jsonb, ${i}) /* marker-insert */`)
  }
  expect(await prepared('marker-insert')).toBe(1)
  // The same statement straight through PGlite (unprepared) for comparison.
  const direct = await pglite().query(text, ['d', JSON.stringify({ d: true }), null])
  expect(direct.rows[0]).toMatchObject({ k: 'd', v: { d: true }, n: null })

  const select = sql`select k, v, n, at from kv where k like ${'k%'} order by k /* marker-select */`
  const rows = rowsOf<{ k: string; v: { i: number }; n: number; at: string }>(await database.db.execute(select))
  const again = rowsOf<{ k: string; v: { i: number }; n: number; at: string }>(await database.db.execute(select))
  expect(again).toEqual(rows)
  expect(rows.map((r) => [r.k, r.v, r.n])).toEqual([
    ['k0', { i: 0 }, 0],
    ['k1', { i: 1 }, 1],
    ['k2', { i: 2 }, 2],
  ])
  // Timestamps stay text (the instance's parsers), as they do through `query`.
  const plain = await pglite().query<{ at: unknown }>(`select at from kv where k = 'k0'`)
  expect(rows[0]!.at).toBe(plain.rows[0]!.at as string)
  expect(typeof rows[0]!.at).toBe('string')

  // Drizzle's array mode (its query builder's), through the same path.
  const arrays = await client().query(`select k, n from kv where n >= $1 order by n /* marker-array */`, [1], { rowMode: 'array' })
  expect(arrays.rows).toEqual([
    ['k1', 1],
    ['k2', 2],
  ])
  expect(await prepared('marker-array')).toBe(1)
})

test('a statement that returns no rows reports the rows it changed', async () => {
  const r = await client().query(`update kv set n = n + $1 where k like 'k%' /* marker-update */`, [10])
  expect(r.affectedRows).toBe(3)
  expect(r.rows).toEqual([])
})

test('errors are PostgreSQL errors with their code, and the statement that failed to parse is not kept', async () => {
  const dup = client().query(`insert into kv (k) values ($1) /* marker-dup */`, ['k0'])
  await expect(dup).rejects.toMatchObject({ code: '23505' })
  const bad = client().query(`select nope from kv where k = $1 /* marker-bad */`, ['k0'])
  await expect(bad).rejects.toMatchObject({ code: '42703' })
  expect(await prepared('marker-bad')).toBe(0)
  // The connection is usable after both.
  expect((await client().query(`select count(*)::int as n from kv where k = $1`, ['k0'])).rows).toEqual([{ n: 1 }])
})

test('statements in a transaction are prepared too, and a rollback undoes them', async () => {
  await expect(
    database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into kv (k) values (${'in-tx'}) /* marker-tx */`)
      expect(rowsOf(await tx.execute(sql`select k from kv where k = ${'in-tx'} /* marker-tx-read */`))).toHaveLength(1)
      throw new Error('roll back')
    }),
  ).rejects.toThrow('roll back')
  expect(await prepared('marker-tx')).toBe(2)
  expect(rowsOf(await database.db.execute(sql`select k from kv where k = ${'in-tx'}`))).toHaveLength(0)
})

test('a statement without parameters runs unprepared', async () => {
  expect(rowsOf(await database.db.execute(sql`select 1 as one /* marker-none */`))).toEqual([{ one: 1 }])
  expect(await prepared('marker-none')).toBe(0)
})

test(`a statement with more than ${PREPARED_MAX_PARAMS} parameters runs unprepared`, async () => {
  const many = Array.from({ length: PREPARED_MAX_PARAMS + 1 }, (_, i) => sql`${i}::int`)
  const r = rowsOf<{ n: number }>(
    await database.db.execute(sql`select array_length(array[${sql.join(many, sql`, `)}], 1) as n /* marker-many */`),
  )
  expect(r).toEqual([{ n: PREPARED_MAX_PARAMS + 1 }])
  expect(await prepared('marker-many')).toBe(0)
})
