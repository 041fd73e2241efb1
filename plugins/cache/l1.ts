/**
 * The in-process level: an LRU bounded by entries and by bytes (of the serialised value),
 * with a tag index, that can be switched off. `generation` moves on every drop by tag and
 * every switch, so a read that started before one does not store what it read.
 */

export interface L1Options {
  maxEntries: number
  maxBytes: number
  now?: () => number
}

interface Entry {
  value: unknown
  bytes: number
  expiresAt: number
  tags: readonly string[]
}

export class L1 {
  private readonly entries = new Map<string, Entry>()
  private readonly keysByTag = new Map<string, Set<string>>()
  private readonly now: () => number
  private on = false
  bytes = 0
  generation = 0

  constructor(private readonly opts: L1Options) {
    this.now = opts.now ?? Date.now
  }

  get enabled(): boolean {
    return this.on
  }

  get size(): number {
    return this.entries.size
  }

  /** Switch on or off; either way the level starts empty. */
  enable(on: boolean): void {
    this.clear()
    this.on = on
  }

  /** A live value, refreshed in LRU order; undefined when off, absent or expired. */
  get(key: string): { value: unknown } | undefined {
    if (!this.on) return undefined
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt <= this.now()) {
      this.drop(key)
      return undefined
    }
    this.entries.delete(key)
    this.entries.set(key, e)
    return e
  }

  /** Store when on and nothing was dropped since `generation` was read. */
  set(key: string, value: unknown, bytes: number, ttlMs: number, tags: readonly string[], generation: number): void {
    if (!this.on || generation !== this.generation || !(ttlMs > 0) || bytes > this.opts.maxBytes) return
    this.drop(key)
    this.entries.set(key, { value, bytes, expiresAt: this.now() + ttlMs, tags })
    this.bytes += bytes
    for (const tag of tags) {
      let keys = this.keysByTag.get(tag)
      if (keys === undefined) this.keysByTag.set(tag, (keys = new Set()))
      keys.add(key)
    }
    while (this.entries.size > this.opts.maxEntries || this.bytes > this.opts.maxBytes) {
      this.drop(this.entries.keys().next().value as string)
    }
  }

  drop(key: string): void {
    const e = this.entries.get(key)
    if (e === undefined) return
    this.entries.delete(key)
    this.bytes -= e.bytes
    for (const tag of e.tags) {
      const keys = this.keysByTag.get(tag)
      keys?.delete(key)
      if (keys?.size === 0) this.keysByTag.delete(tag)
    }
  }

  /** Drop one key wherever a read of it may be in flight too. */
  forget(key: string): void {
    this.generation++
    this.drop(key)
  }

  dropTags(tags: readonly string[]): void {
    this.generation++
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag)
      if (keys !== undefined) for (const key of [...keys]) this.drop(key)
    }
  }

  clear(): void {
    this.generation++
    this.entries.clear()
    this.keysByTag.clear()
    this.bytes = 0
  }
}
