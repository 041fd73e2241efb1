/**
 * Cache slot: read-through caching with tag invalidation.
 *
 * Contract: `wrap` returns the cached value for `key` or calls `load` once and stores
 * its result for `ttlMs` under `tags`; concurrent `wrap` calls for one missing key share one
 * `load`; `invalidate(tags)` makes every entry carrying one of the tags miss from then on.
 * `undefined` is never cached. Left out on purpose: serialisation and where entries live.
 */

export interface Cache {
  wrap<T>(key: string, ttlMs: number, tags: string[], load: () => Promise<T>): Promise<T>
  get<T>(key: string): Promise<T | undefined>
  set<T>(key: string, value: T, ttlMs: number, tags?: string[]): Promise<void>
  delete(key: string): Promise<void>
  invalidate(tags: string[]): Promise<void>
  stats?(): { hits: number; misses: number; size: number }
  stop?(): Promise<void>
}
