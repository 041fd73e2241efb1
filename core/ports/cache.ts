/**
 * Cache slot: read-through caching with tag invalidation.
 *
 * Contract: `wrap` returns the cached value for `key` or calls `load` once and stores
 * its result for `ttlMs` under `tags`; concurrent `wrap` calls for one missing key share one
 * `load`; `invalidate(tags)` makes every entry carrying one of the tags miss from then on.
 * `undefined` is never cached. Values must survive JSON (a backend may serialise them).
 * Keys and tags are plain strings; a caller that caches per-user data puts the user id in
 * both. Left out on purpose: serialisation and where entries live.
 */

/** Per-call options of `wrap`. */
export interface WrapOptions {
  /** A label for metrics (e.g. `conversations`); backends default to the key up to its first `:`. */
  kind?: string
  /**
   * Stale-while-revalidate: after `ttlMs`, the old value may still be served for this long
   * while one refresh runs. Never applies to an invalidated entry. Backends may ignore it.
   * @default 0
   */
  staleMs?: number
}

export interface Cache {
  wrap<T>(key: string, ttlMs: number, tags: string[], load: () => Promise<T>, opts?: WrapOptions): Promise<T>
  get<T>(key: string): Promise<T | undefined>
  set<T>(key: string, value: T, ttlMs: number, tags?: string[]): Promise<void>
  delete(key: string): Promise<void>
  invalidate(tags: string[]): Promise<void>
  stats?(): { hits: number; misses: number; size: number }
  stop?(): Promise<void>
}
