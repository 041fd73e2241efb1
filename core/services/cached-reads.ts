/**
 * The core's cached reads: one key and tag scheme for every kind, TTLs from `cache.ttl`,
 * and invalidation after a write commits. Keys and tags always carry the user id, so an
 * entry can only ever be read back by the user it was loaded for.
 */
import type { ResolvedConfig } from '../config/resolved.ts'
import type { CacheKind } from '../config/schema.ts'
import type { Cache } from '../ports/cache.ts'

/** Tags of the core's entries; a write invalidates the tags of what it changed. */
export const cacheTags = {
  /** The user's profile and tier (`GET /v1/me`). */
  user: (userId: string) => `user:${userId}`,
  /** Every page of the user's conversation list. */
  list: (userId: string) => `list:${userId}`,
  /** One conversation's metadata. */
  conversation: (userId: string, id: string) => `conv:${userId}:${id}`,
  /** Every page of one conversation's messages. */
  messages: (userId: string, id: string) => `msgs:${userId}:${id}`,
}

export interface CachedReads {
  /** `load` through the cache under `kind:userId:parts...`, with the kind's TTL and stale window. */
  read<T>(
    kind: CacheKind,
    userId: string,
    parts: readonly (string | number | undefined)[],
    tags: string[],
    load: () => Promise<T>,
  ): Promise<T>
  /** Invalidate after a commit. Never throws: the write has happened, and the backend counts its own failures. */
  invalidate(tags: string[]): Promise<void>
}

type CacheSettings = ResolvedConfig['cache']

/**
 * @example
 * const reads = createCachedReads(slots.cache, config.cache)
 * reads.read('user', id, [], [cacheTags.user(id)], () => findUser(id))
 */
export function createCachedReads(cache: Cache, settings: CacheSettings): CachedReads {
  return {
    read(kind, userId, parts, tags, load) {
      // encodeURIComponent keeps a cursor from forging another key's separators.
      const key = [kind, userId, ...parts.map((p) => encodeURIComponent(p ?? ''))].join(':')
      return cache.wrap(key, settings.ttlMs[kind], tags, load, { kind, staleMs: settings.staleMs[kind] })
    },
    async invalidate(tags) {
      await cache.invalidate(tags).catch(() => {})
    },
  }
}

/** No caching at all: for callers without a cache slot (the CLI without a cache plugin, tests). */
export const uncachedReads: CachedReads = {
  read: (_kind, _userId, _parts, _tags, load) => load(),
  invalidate: async () => {},
}
