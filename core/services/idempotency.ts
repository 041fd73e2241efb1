/** First answers to requests sent with an `Idempotency-Key`, kept per user and replayed for repeats. */
import { and, eq } from 'drizzle-orm'
import { idempotencyKeys } from '../db/schema.ts'
import type { DbRouter } from '../ports/db-router.ts'

export interface StoredAnswer {
  status: number
  body: unknown
}

export function createIdempotencyService(router: DbRouter) {
  return {
    async get(userId: string, key: string): Promise<StoredAnswer | undefined> {
      const [row] = await router
        .write()
        .select({ status: idempotencyKeys.status, body: idempotencyKeys.body })
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
        .limit(1)
      return row
    },
    /** Store the first answer; a concurrent repeat that stored first wins, and its answer is returned. */
    async put(userId: string, key: string, answer: StoredAnswer): Promise<StoredAnswer> {
      const rows = await router
        .write()
        .insert(idempotencyKeys)
        .values({ userId, key, status: answer.status, body: answer.body, createdAt: new Date() })
        .onConflictDoNothing()
        .returning({ status: idempotencyKeys.status, body: idempotencyKeys.body })
      return rows[0] ?? (await this.get(userId, key)) ?? answer
    },
  }
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>
