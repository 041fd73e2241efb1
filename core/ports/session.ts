/**
 * Session slot: per-user state, per-conversation reply locks and the conversation
 * buffer (recent turns plus a running summary), all with TTLs.
 *
 * Contract: `patch` merges fields atomically (two writers changing different fields never
 * lose each other's update); TTLs slide on every write and on `get`; a lock is held by the
 * token `acquireLock` returned and only that token releases or extends it; the buffer keeps
 * at most `maxTurns` turns (oldest dropped first). Left out on purpose: connections and
 * serialisation formats.
 */

export type SessionData = Record<string, unknown>

export interface Turn {
  role: 'user' | 'assistant'
  content: string
}

export interface ConversationBuffer {
  turns: Turn[]
  /** Running summary of the turns that fell out of the buffer, if any. */
  summary?: string
}

export interface SessionStore {
  get(userId: string): Promise<SessionData | null>
  /**
   * Optional: start reading `userId`'s session now, so that a `get` later in the same request
   * costs no round trip of its own. The runtime calls it in the same tick as the request's
   * rate-limit check, so a store on the same connection sends both in one write.
   */
  prefetch?(userId: string): void
  /** Merge `fields` into the session (a `null` value deletes the field); returns the new data. */
  patch(userId: string, fields: SessionData): Promise<SessionData>
  delete(userId: string): Promise<void>

  /** Take the lock; returns an owner token, or `null` when someone else holds it. */
  acquireLock(key: string, ttlMs: number): Promise<string | null>
  /** Release the lock if `token` still owns it; returns whether it did. */
  releaseLock(key: string, token: string): Promise<boolean>
  /** Extend the lock if `token` still owns it; returns whether it did. */
  extendLock(key: string, token: string, ttlMs: number): Promise<boolean>

  getBuffer(conversationId: string): Promise<ConversationBuffer | null>
  /** Append turns, dropping the oldest beyond `maxTurns`. */
  appendTurns(conversationId: string, turns: Turn[], maxTurns: number): Promise<void>
  setSummary(conversationId: string, summary: string): Promise<void>
  clearBuffer(conversationId: string): Promise<void>

  stop?(): Promise<void>
}

export interface SessionStoreOptions {
  /** Sliding TTL of session data and buffers, in ms. @default 86_400_000 (1 day) */
  ttlMs?: number
}
