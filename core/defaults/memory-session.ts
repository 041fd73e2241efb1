/** In-memory session store: sessions, reply locks and conversation buffers with TTLs, for one process. */
import type {
  ConversationBuffer,
  SessionData,
  SessionStore,
  SessionStoreOptions,
  Turn,
} from '../ports/session.ts'

export interface MemorySessionStoreOptions extends SessionStoreOptions {
  /** Clock in epoch milliseconds; tests inject a fake one. @default Date.now */
  now?: () => number
  /** How often expired sessions, buffers and locks are swept (they also go on access). @default 60_000 */
  sweepIntervalMs?: number
}

interface Expiring {
  expiresAt: number
}
interface SessionEntry extends Expiring {
  data: SessionData
}
interface LockEntry extends Expiring {
  token: string
}
interface BufferEntry extends Expiring {
  turns: Turn[]
  summary?: string
}

/**
 * Session store for a single instance. Values are copied in and out (`structuredClone`), so
 * callers never share objects with the store, as with any serialising backend. A session
 * whose last field is deleted no longer exists (`get` returns `null`). Locks keep their own
 * TTL and do not slide.
 *
 * @example
 * const sessions = createMemorySessionStore({ ttlMs: 30 * 60_000 })
 * await sessions.patch(userId, { locale: 'en' })
 * const token = await sessions.acquireLock(`reply:${conversationId}`, 30_000)
 */
export function createMemorySessionStore(opts: MemorySessionStoreOptions = {}): SessionStore {
  const now = opts.now ?? Date.now
  const ttlMs = opts.ttlMs ?? 86_400_000
  const sweepIntervalMs = opts.sweepIntervalMs ?? 60_000
  if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${String(ttlMs)}`)
  if (!(sweepIntervalMs > 0)) {
    throw new RangeError(`sweepIntervalMs must be > 0, got ${String(sweepIntervalMs)}`)
  }

  const sessions = new Map<string, SessionEntry>()
  const locks = new Map<string, LockEntry>()
  const buffers = new Map<string, BufferEntry>()

  let timer: ReturnType<typeof setInterval> | undefined = setInterval(sweep, sweepIntervalMs)
  unref(timer)

  function sweep(): void {
    const t = now()
    for (const map of [sessions, locks, buffers] as Map<string, Expiring>[]) {
      for (const [key, entry] of map) if (entry.expiresAt <= t) map.delete(key)
    }
  }

  return {
    async get(userId) {
      const t = now()
      const entry = live(sessions, userId, t)
      if (!entry) return null
      entry.expiresAt = t + ttlMs
      return structuredClone(entry.data)
    },

    async patch(userId, fields) {
      const t = now()
      let entry = live(sessions, userId, t)
      if (!entry) {
        entry = { data: Object.create(null) as SessionData, expiresAt: 0 }
        sessions.set(userId, entry)
      }
      for (const [field, value] of Object.entries(fields)) {
        if (value === null) delete entry.data[field]
        else if (value !== undefined) entry.data[field] = structuredClone(value)
      }
      entry.expiresAt = t + ttlMs
      const data = structuredClone(entry.data)
      if (Object.keys(data).length === 0) sessions.delete(userId)
      return data
    },

    async delete(userId) {
      sessions.delete(userId)
    },

    async acquireLock(key, lockTtlMs) {
      checkLockTtl(lockTtlMs)
      const t = now()
      if (live(locks, key, t)) return null
      const token = crypto.randomUUID()
      locks.set(key, { token, expiresAt: t + lockTtlMs })
      return token
    },

    async releaseLock(key, token) {
      const lock = live(locks, key, now())
      if (!lock || lock.token !== token) return false
      locks.delete(key)
      return true
    },

    async extendLock(key, token, lockTtlMs) {
      checkLockTtl(lockTtlMs)
      const t = now()
      const lock = live(locks, key, t)
      if (!lock || lock.token !== token) return false
      lock.expiresAt = t + lockTtlMs
      return true
    },

    async getBuffer(conversationId) {
      const t = now()
      const entry = live(buffers, conversationId, t)
      if (!entry) return null
      entry.expiresAt = t + ttlMs
      const buffer: ConversationBuffer = { turns: entry.turns.map(copyTurn) }
      if (entry.summary !== undefined) buffer.summary = entry.summary
      return buffer
    },

    async appendTurns(conversationId, turns, maxTurns) {
      if (!Number.isInteger(maxTurns) || maxTurns < 0) {
        throw new RangeError(`maxTurns must be an integer >= 0, got ${String(maxTurns)}`)
      }
      const t = now()
      let entry = live(buffers, conversationId, t)
      if (!entry) {
        if (turns.length === 0) return
        entry = { turns: [], expiresAt: 0 }
        buffers.set(conversationId, entry)
      }
      for (const turn of turns) entry.turns.push(copyTurn(turn))
      if (entry.turns.length > maxTurns) entry.turns.splice(0, entry.turns.length - maxTurns)
      entry.expiresAt = t + ttlMs
    },

    async setSummary(conversationId, summary) {
      const t = now()
      let entry = live(buffers, conversationId, t)
      if (!entry) {
        entry = { turns: [], expiresAt: 0 }
        buffers.set(conversationId, entry)
      }
      entry.summary = summary
      entry.expiresAt = t + ttlMs
    },

    async clearBuffer(conversationId) {
      buffers.delete(conversationId)
    },

    async stop() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      sessions.clear()
      locks.clear()
      buffers.clear()
    },
  }
}

/** The entry under `key` if it has not expired; an expired one is dropped on the way. */
function live<T extends Expiring>(map: Map<string, T>, key: string, t: number): T | undefined {
  const entry = map.get(key)
  if (entry === undefined) return undefined
  if (entry.expiresAt > t) return entry
  map.delete(key)
  return undefined
}

function copyTurn(turn: Turn): Turn {
  return { role: turn.role, content: turn.content }
}

function checkLockTtl(ttlMs: number): void {
  if (!(ttlMs > 0)) throw new RangeError(`lock ttlMs must be > 0, got ${String(ttlMs)}`)
}

/**
 * Keep the sweep timer from holding the process open. Bun and Node return an object; Deno's
 * numeric id is left alone (its unrefTimer is a runtime call, outside this layer).
 */
function unref(timer: unknown): void {
  if (typeof timer === 'object' && timer !== null && 'unref' in timer) {
    ;(timer as { unref(): void }).unref()
  }
}
