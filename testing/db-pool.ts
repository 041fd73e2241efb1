/**
 * Conformance suite for the db pool slot. Any backend passes a factory returning a pool on
 * a migrated database; the suite runs queries on it and closes it.
 *
 * @example
 * dbPoolSuite('my pool', async () => createMyPool(await openTestDatabase()))
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import type { DbPool } from '../core/ports/db-pool.ts'
import { settle } from './settle.ts'

export function dbPoolSuite(name: string, make: () => Promise<DbPool> | DbPool): void {
  describe(`db pool conformance: ${name}`, () => {
    let pool: DbPool
    beforeAll(async () => {
      pool = await make()
    }, 60_000)
    afterAll(() => pool.close(), 60_000)

    test('runs queries on the migrated schema', async () => {
      const r = await pool.db.execute(sql`select count(*)::int as n from users`)
      const rows = (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { n: unknown }[]
      expect(rows).toHaveLength(1)
      expect(typeof rows[0]?.n).toBe('number')
    })

    test('serves more concurrent queries than it has connections, without error', async () => {
      const n = pool.stats().max * 3 + 1
      const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.db.execute(sql`select ${i}::int as i`)))
      // Each query answered with its own row (not merely n settled promises).
      const values = results.map((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows).map((row) => (row as { i: number }).i))
      expect(values).toEqual(Array.from({ length: n }, (_, i) => [i]))
    })

    test('stats name the driver, a positive maximum and a size within it, and count nothing when idle', () => {
      const s = pool.stats()
      expect(['pglite', 'postgres']).toContain(s.driver)
      expect(s.max).toBeGreaterThanOrEqual(1)
      expect(s.size).toBeGreaterThanOrEqual(1)
      expect(s.size).toBeLessThanOrEqual(s.max)
      expect(s.inUse).toBe(0)
      expect(s.waiting).toBe(0)
    })

    test('a pool that resizes keeps serving at its new size', async () => {
      if (!pool.resize) return
      const before = pool.stats().size
      pool.resize(1)
      try {
        expect(pool.stats().size).toBe(1)
        const results = await Promise.all(Array.from({ length: 5 }, (_, i) => pool.db.execute(sql`select ${i}::int as i`)))
        expect(results).toHaveLength(5)
      } finally {
        pool.resize(before)
      }
      expect(pool.stats().size).toBe(before)
    })

    test('close() is idempotent', async () => {
      const other = await make()
      expect(await settle(other.close())).toBe('done')
      expect(await settle(other.close())).toBe('done')
    })
  })
}
