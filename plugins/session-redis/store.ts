/**
 * The Redis session store: sessions as hashes (one JSON value per field, so a patch merges
 * fields atomically), reply locks as strings with owner tokens, conversation buffers as a
 * capped list plus a summary. Every operation is one round trip; every key has a TTL.
 */
import {
  loadScript,
  runScript,
  ScaleError,
  taggedKey,
  type ConversationBuffer,
  type RedisClient,
  type SessionData,
  type SessionStore,
  type SessionStoreOptions,
  type Turn,
} from 'scale-runtime/plugin'

export interface RedisSessionStoreOptions extends SessionStoreOptions {
  redis: RedisClient
  /** @default 'scale:' */
  keyPrefix?: string
  /**
   * Read each request's session together with its rate-limit check (`prefetch`), for setups
   * that read the session on most requests (replica-router's write marks). @default false
   */
  readAhead?: boolean
}

/** A session read started by `prefetch`, for the next `get` of that user within `READ_AHEAD_MS`. */
const READ_AHEAD_MS = 1000
const READ_AHEAD_KEYS = 10_000

const lua = (name: string) => loadScript(new URL(`./lua/${name}.lua`, import.meta.url))
const scripts = {
  get: lua('session-get'),
  patch: lua('session-patch'),
  release: lua('lock-release'),
  extend: lua('lock-extend'),
  bufferGet: lua('buffer-get'),
  append: lua('buffer-append'),
  summary: lua('buffer-summary'),
}

/**
 * Session store shared by every instance. Values go through JSON, so what comes back is a
 * copy (and a `Date` comes back as its string). Locks keep their own TTL and do not slide.
 *
 * @example
 * const sessions = createRedisSessionStore({ redis, keyPrefix: 'app:', ttlMs: 30 * 60_000 })
 * await sessions.patch(userId, { locale: 'en' })
 * const token = await sessions.acquireLock(`reply:${conversationId}`, 30_000)
 */
export function createRedisSessionStore(opts: RedisSessionStoreOptions): SessionStore {
  const { redis } = opts
  const prefix = opts.keyPrefix ?? 'scale:'
  const ttl = opts.ttlMs ?? 86_400_000
  if (!(ttl > 0)) throw new RangeError(`ttlMs must be > 0, got ${String(ttl)}`)
  const ttlArg = String(Math.ceil(ttl))

  const sessionKey = (userId: string) => taggedKey(prefix, 'sess', userId)
  const lockKey = (key: string) => taggedKey(prefix, 'lock', key)
  // Both keys of a buffer carry the same hash tag, so one script may touch both on a cluster.
  const bufferKeys = (id: string) => [taggedKey(prefix, 'buf', id, ':turns'), taggedKey(prefix, 'buf', id, ':summary')]

  /** Fail fast while the connection is down (no queueing behind a reconnect), and with a coded error. */
  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (redis.status !== 'ready') throw unavailable(what, new Error(`connection ${redis.status}`))
    try {
      return await run()
    } catch (e) {
      throw unavailable(what, e)
    }
  }

  async function read(userId: string): Promise<SessionData | null> {
    const flat = await call('get', () => runScript<string[]>(redis, scripts.get, [sessionKey(userId)], [ttlArg]))
    return flat.length ? fromFlat(flat) : null
  }

  // Reads started ahead, each used by one `get` at most; a write for the user drops its entry.
  const ahead = new Map<string, { at: number; data: Promise<SessionData | null> }>()
  function prefetch(userId: string): void {
    if (redis.status !== 'ready') return
    if (ahead.size >= READ_AHEAD_KEYS) ahead.delete(ahead.keys().next().value!)
    const data = read(userId)
    data.catch(() => {}) // a failed read ahead is retried by the get that wanted it
    ahead.set(userId, { at: Date.now(), data })
  }

  return {
    async get(userId) {
      const a = ahead.get(userId)
      if (a) {
        ahead.delete(userId)
        if (Date.now() - a.at < READ_AHEAD_MS) {
          const data = await a.data.catch(() => undefined)
          if (data !== undefined) return data
        }
      }
      return read(userId)
    },

    ...(opts.readAhead ? { prefetch } : {}),

    async patch(userId, fields) {
      ahead.delete(userId)
      const del: string[] = []
      const set: string[] = []
      for (const [field, value] of Object.entries(fields)) {
        if (value === null) del.push(field)
        else if (value !== undefined) set.push(field, JSON.stringify(value))
      }
      const flat = await call('patch', () =>
        runScript<string[]>(redis, scripts.patch, [sessionKey(userId)], [ttlArg, del.length, ...del, ...set]),
      )
      return fromFlat(flat)
    },

    async delete(userId) {
      ahead.delete(userId)
      await call('delete', () => redis.del(sessionKey(userId)))
    },

    async acquireLock(key, lockTtlMs) {
      checkLockTtl(lockTtlMs)
      const token = crypto.randomUUID()
      const ok = await call('acquireLock', () => redis.set(lockKey(key), token, 'PX', Math.ceil(lockTtlMs), 'NX'))
      return ok === 'OK' ? token : null
    },

    async releaseLock(key, token) {
      return (await call('releaseLock', () => runScript<number>(redis, scripts.release, [lockKey(key)], [token]))) === 1
    },

    async extendLock(key, token, lockTtlMs) {
      checkLockTtl(lockTtlMs)
      const r = await call('extendLock', () => runScript<number>(redis, scripts.extend, [lockKey(key)], [token, Math.ceil(lockTtlMs)]))
      return r === 1
    },

    async getBuffer(conversationId) {
      const [turns, summary] = await call('getBuffer', () =>
        runScript<[string[], string | null]>(redis, scripts.bufferGet, bufferKeys(conversationId), [ttlArg]),
      )
      if (turns.length === 0 && summary === null) return null
      const buffer: ConversationBuffer = { turns: turns.map(parseTurn) }
      if (summary !== null) buffer.summary = summary
      return buffer
    },

    async appendTurns(conversationId, turns, maxTurns) {
      if (!Number.isInteger(maxTurns) || maxTurns < 0) {
        throw new RangeError(`maxTurns must be an integer >= 0, got ${String(maxTurns)}`)
      }
      const encoded = turns.map((t) => JSON.stringify({ role: t.role, content: t.content }))
      await call('appendTurns', () => runScript(redis, scripts.append, bufferKeys(conversationId), [ttlArg, maxTurns, ...encoded]))
    },

    async setSummary(conversationId, summary) {
      await call('setSummary', () => runScript(redis, scripts.summary, bufferKeys(conversationId), [ttlArg, summary]))
    },

    async clearBuffer(conversationId) {
      await call('clearBuffer', () => redis.del(...bufferKeys(conversationId)))
    },

    // The connection belongs to the core (or the caller); nothing of its own to release.
    async stop() {},
  }
}

function fromFlat(flat: string[]): SessionData {
  const data = Object.create(null) as SessionData
  for (let i = 0; i + 1 < flat.length; i += 2) data[flat[i]!] = parseValue(flat[i + 1]!)
  return { ...data }
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw // written by something other than this store: hand it back as it is
  }
}

function parseTurn(raw: string): Turn {
  const t = JSON.parse(raw) as Turn
  return { role: t.role, content: t.content }
}

function checkLockTtl(ttlMs: number): void {
  if (!(ttlMs > 0)) throw new RangeError(`lock ttlMs must be > 0, got ${String(ttlMs)}`)
}

function unavailable(what: string, cause: unknown): ScaleError {
  return new ScaleError(
    'UNAVAILABLE',
    `the session store cannot be reached right now (${what}: ${(cause as Error)?.message ?? cause}); retry shortly`,
    {
      cause,
      headers: { 'retry-after': '1' },
    },
  )
}
