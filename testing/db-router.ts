/**
 * Conformance suite for the db router slot: writes go to the primary, and a user reads
 * their own writes right after `wrote()`, whichever connection `read()` picks.
 *
 * @example
 * dbRouterSuite('replica router', async () => ({ router: createMyRouter(...), close }))
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { users } from '../core/db/schema.ts'
import type { DbRouter } from '../core/ports/db-router.ts'

export function dbRouterSuite(name: string, make: () => Promise<{ router: DbRouter; close(): Promise<void> }>): void {
  describe(`db router conformance: ${name}`, () => {
    let r: { router: DbRouter; close(): Promise<void> }
    beforeAll(async () => {
      r = await make()
    }, 60_000)
    afterAll(() => r.close(), 60_000)

    test('a user reads their own write immediately after wrote()', async () => {
      for (let i = 0; i < 20; i++) {
        const id = crypto.randomUUID()
        const now = new Date()
        await r.router
          .write()
          .insert(users)
          .values({ id, email: `${id}@example.com`, passwordHash: 'x', createdAt: now, updatedAt: now })
        await r.router.wrote(id)
        const [row] = await (await r.router.read(id)).select().from(users).where(eq(users.id, id))
        expect(row?.email).toBe(`${id}@example.com`)
      }
    })

    test('write() is stable: the same primary every call', () => {
      expect(r.router.write()).toBe(r.router.write())
    })

    test('read() without a user answers queries', async () => {
      const rows = await (await r.router.read()).select({ id: users.id }).from(users).limit(1)
      expect(Array.isArray(rows)).toBe(true)
    })
  })
}
