/** In-memory cache: a small LRU with TTLs, tags and single-flight loads, for one process. */
import type { Cache } from '../ports/cache.ts'

export interface MemoryCacheOptions {
  /** Most entries kept; the least recently used goes first. @default 1000 */
  maxEntries?: number
  /** Clock in epoch milliseconds; tests inject a fake one. @default Date.now */
  now?: () => number
}

interface Entry {
  value: unknown
  expiresAt: number
  tags: readonly string[]
}

/** A load in flight. `stale` is set when the key was invalidated, deleted or set meanwhile. */
interface Flight {
  promise: Promise<unknown>
  tags: readonly string[]
  stale: boolean
}

/**
 * Cache for a single instance. `wrap` shares one `load` between concurrent callers of a
 * missing key; a load that throws is not cached and every waiter gets its error. A load
 * whose key is invalidated, deleted or set while it runs still answers its waiters, but its
 * result is not stored, and later `wrap` calls start a fresh load instead of joining it.
 * Values are stored by reference (no copy). Entries with a TTL of 0 or less are not stored.
 *
 * @example
 * const cache = createMemoryCache({ maxEntries: 500 })
 * const user = await cache.wrap(`user:${id}`, 60_000, [`user:${id}`], () => users.find(id))
 * await cache.invalidate([`user:${id}`]) // after an update
 */
export function createMemoryCache(opts: MemoryCacheOptions = {}): Cache {
  const now = opts.now ?? Date.now
  const maxEntries = opts.maxEntries ?? 1000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`)
  }

  // Map order is recency order: a hit moves the entry to the end, eviction takes the first.
  const entries = new Map<string, Entry>()
  const keysByTag = new Map<string, Set<string>>()
  const flights = new Map<string, Flight>()
  let hits = 0
  let misses = 0

  function drop(key: string): void {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    for (const tag of entry.tags) {
      const keys = keysByTag.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) keysByTag.delete(tag)
    }
  }

  function store(key: string, value: unknown, ttlMs: number, tags: readonly string[]): void {
    drop(key)
    if (value === undefined || !(ttlMs > 0)) return
    entries.set(key, { value, expiresAt: now() + ttlMs, tags })
    for (const tag of tags) {
      let keys = keysByTag.get(tag)
      if (keys === undefined) keysByTag.set(tag, (keys = new Set()))
      keys.add(key)
    }
    while (entries.size > maxEntries) drop(entries.keys().next().value as string)
  }

  /** The live entry for `key`, counted as a hit or a miss. */
  function lookup(key: string): Entry | undefined {
    const entry = entries.get(key)
    if (entry !== undefined && entry.expiresAt > now()) {
      entries.delete(key)
      entries.set(key, entry)
      hits++
      return entry
    }
    if (entry !== undefined) drop(key)
    misses++
    return undefined
  }

  /** Detach the load in flight for `key` so its result is not stored and nobody new joins it. */
  function supersede(key: string): void {
    const flight = flights.get(key)
    if (flight === undefined) return
    flight.stale = true
    flights.delete(key)
  }

  async function run<T>(
    key: string,
    flight: Flight,
    ttlMs: number,
    load: () => Promise<T>,
  ): Promise<T> {
    try {
      const value = await load()
      if (!flight.stale) store(key, value, ttlMs, flight.tags)
      return value
    } finally {
      if (flights.get(key) === flight) flights.delete(key)
    }
  }

  return {
    async wrap<T>(key: string, ttlMs: number, tags: string[], load: () => Promise<T>): Promise<T> {
      const entry = lookup(key)
      if (entry !== undefined) return entry.value as T
      const pending = flights.get(key)
      if (pending !== undefined) return pending.promise as Promise<T>
      // Registered before `load` runs, so a load that throws synchronously still cleans up.
      const flight: Flight = { promise: undefined as never, tags: [...tags], stale: false }
      flights.set(key, flight)
      flight.promise = run(key, flight, ttlMs, load)
      return flight.promise as Promise<T>
    },

    async get<T>(key: string): Promise<T | undefined> {
      return lookup(key)?.value as T | undefined
    },

    async set<T>(key: string, value: T, ttlMs: number, tags: string[] = []): Promise<void> {
      supersede(key)
      store(key, value, ttlMs, [...tags])
    },

    async delete(key: string): Promise<void> {
      supersede(key)
      drop(key)
    },

    async invalidate(tags: string[]): Promise<void> {
      for (const tag of tags) {
        const keys = keysByTag.get(tag)
        if (keys === undefined) continue
        for (const key of [...keys]) drop(key)
      }
      const wanted = new Set(tags)
      for (const [key, flight] of flights) {
        if (flight.tags.some((tag) => wanted.has(tag))) supersede(key)
      }
    },

    stats() {
      const t = now()
      for (const [key, entry] of entries) if (entry.expiresAt <= t) drop(key)
      return { hits, misses, size: entries.size }
    },

    async stop(): Promise<void> {
      for (const key of [...flights.keys()]) supersede(key)
      entries.clear()
      keysByTag.clear()
    },
  }
}
