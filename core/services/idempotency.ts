/**
 * First answers to requests sent with an idempotency key, replayed for repeats. A key is
 * scoped by user and by the operation and its target (`send:<conversationId>`), and the
 * stored fingerprint of the request tells a repeat from a different request that reuses
 * the key: that one is refused with 422 IDEMPOTENCY_KEY_REUSED, never given another
 * request's answer.
 */
import { createHash } from 'node:crypto'
import { and, eq } from 'drizzle-orm'
import { ScaleError, quote } from '../errors.ts'
import { batcher } from '../db/batch.ts'
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
export function fingerprintOf(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex')
}

/** The stored first answer of `r`, given the stored row's columns; IDEMPOTENCY_KEY_REUSED if it answered another request. */
export function answerOf(r: KeyedRequest, status: number, body: unknown, fingerprint: string): StoredAnswer {
  if (fingerprint !== r.fingerprint) throw keyReused(r.key)
  return { status, body }
}

/** One string per key (user, scope, key), for maps of keyed requests. */
export const keyedId = (r: Pick<KeyedRequest, 'userId' | 'scope' | 'key'>) => `${r.userId}\n${r.scope}\n${r.key}`

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
    return row && answerOf(r, row.status, row.body, row.fingerprint)
  }

  type Put = { r: KeyedRequest; answer: StoredAnswer }
  const insert = (puts: Put[]) =>
    router
      .write()
      .insert(idempotencyKeys)
      .values(puts.map(({ r, answer }) => ({ ...r, status: answer.status, body: answer.body, createdAt: new Date() })))
      .onConflictDoNothing()
      .returning({ userId: idempotencyKeys.userId, scope: idempotencyKeys.scope, key: idempotencyKeys.key })

  /** Concurrent puts share statements (core/db/batch.ts); one that stored nothing asks which answer is first. */
  const put = batcher<Put, StoredAnswer>({
    one: async (p) => ((await insert([p])).length ? p.answer : ((await read(p.r)) ?? p.answer)),
    many: async (puts) => {
      const stored = new Set((await insert(puts)).map(keyedId))
      // A key twice in one batch: which of the two went in is read back, for both.
      const seen = new Map<string, number>()
      for (const p of puts) seen.set(keyedId(p.r), (seen.get(keyedId(p.r)) ?? 0) + 1)
      const mine = (p: Put) => stored.has(keyedId(p.r)) && seen.get(keyedId(p.r)) === 1
      return Promise.all(puts.map(async (p) => (mine(p) ? p.answer : ((await read(p.r)) ?? p.answer))))
    },
  })

  return {
    /** The first answer to this request, if there is one; IDEMPOTENCY_KEY_REUSED if the key went with another request. */
    get: read,
    /** Store the first answer; a concurrent repeat that stored first wins, and its answer is returned. */
    put: (r: KeyedRequest, answer: StoredAnswer): Promise<StoredAnswer> => put({ r, answer }),
  }
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>
