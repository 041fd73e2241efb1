/**
 * First answers to requests sent with an idempotency key, replayed for repeats. A key is
 * scoped by user and by the operation and its target (`send:<conversationId>`), and the
 * stored fingerprint of the request tells a repeat from a different request that reuses
 * the key: that one is refused with 422 IDEMPOTENCY_KEY_REUSED, never given another
 * request's answer.
 */
import { and, eq } from 'drizzle-orm'
import { ScaleError, isScaleError, quote } from '../errors.ts'
import { idempotencyKeys } from '../db/schema.ts'
import type { DbRouter } from '../ports/db-router.ts'

export interface StoredAnswer<Body = unknown> {
  status: number
  body: Body
}

/** One keyed request: who, which operation on which target, the client's key, and what was asked. */
export interface KeyedRequest {
  userId: string
  scope: string
  key: string
  fingerprint: string
}

/** SHA-256 (hex) of a request's JSON: what makes two requests with one key the same request. */
export async function fingerprintOf(request: unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(request)))
  return Buffer.from(digest).toString('hex')
}

export const keyReused = (key: string) =>
  new ScaleError(
    'IDEMPOTENCY_KEY_REUSED',
    `idempotency key ${quote(key)} was already used for a different request here; use a new key for a new request`,
  )

export function createIdempotencyService(router: DbRouter) {
  const where = (r: KeyedRequest) =>
    and(eq(idempotencyKeys.userId, r.userId), eq(idempotencyKeys.scope, r.scope), eq(idempotencyKeys.key, r.key))

  async function read(r: KeyedRequest): Promise<StoredAnswer | undefined> {
    const [row] = await router
      .write()
      .select({ status: idempotencyKeys.status, body: idempotencyKeys.body, fingerprint: idempotencyKeys.fingerprint })
      .from(idempotencyKeys)
      .where(where(r))
      .limit(1)
    if (!row) return undefined
    if (row.fingerprint !== r.fingerprint) throw keyReused(r.key)
    return { status: row.status, body: row.body }
  }

  const store = {
    /** The first answer to this request, if there is one; IDEMPOTENCY_KEY_REUSED if the key went with another request. */
    get: read,
    /** Store the first answer; a concurrent repeat that stored first wins, and its answer is returned. */
    async put(r: KeyedRequest, answer: StoredAnswer): Promise<StoredAnswer> {
      const rows = await router
        .write()
        .insert(idempotencyKeys)
        .values({ ...r, status: answer.status, body: answer.body, createdAt: new Date() })
        .onConflictDoNothing()
        .returning({ status: idempotencyKeys.status, body: idempotencyKeys.body })
      return rows[0] ?? (await read(r)) ?? answer
    },
  }

  return {
    ...store,
    /**
     * Answer a request once: without a key, `answer()`; with one, the first answer stored for
     * it, else `answer()`, stored. A repeat that raced its first attempt and was refused with
     * 409 (the first still running) gets the first answer once it is stored.
     */
    async once<Body>(r: KeyedRequest | undefined, answer: () => Promise<StoredAnswer<Body>>): Promise<StoredAnswer<Body>> {
      if (!r) return answer()
      // The stored body is what `answer()` gave for this request (the fingerprint matched).
      const first = (await read(r)) as StoredAnswer<Body> | undefined
      if (first) return first
      try {
        return (await store.put(r, await answer())) as StoredAnswer<Body>
      } catch (e) {
        const raced = isScaleError(e) && e.code === 'CONFLICT' && ((await read(r)) as StoredAnswer<Body> | undefined)
        if (raced) return raced
        throw e
      }
    },
  }
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>
