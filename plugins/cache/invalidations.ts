/**
 * Sending invalidations: bump the tags' versions and announce them in one script, then wait
 * (bounded) until every instance that received the announcement acknowledged it. Tags that
 * could not reach Redis are kept and sent again once it answers.
 */
import { loadScript, runScript, type RedisClient } from 'scale-runtime/plugin'

const INVALIDATE = loadScript(new URL('./lua/invalidate.lua', import.meta.url))

export interface InvalidationsOptions {
  redis: RedisClient
  channel: string
  /** This instance's id, in the announcement (its own copy comes back as its acknowledgement). */
  instance: string
  versionKeys(tags: readonly string[]): string[]
  versionTtlMs: number
  /** The longest `send` waits for acknowledgements (the command timeout). */
  waitMs: number
  allows(): boolean
  succeeded(): void
  failed(e: unknown): void
  /** Whether this instance is subscribed (else nobody, itself included, can acknowledge in time: do not count it). */
  listening(): boolean
  unacknowledged(): void
}

export function createInvalidations(opts: InvalidationsOptions) {
  const pending = new Set<string>()
  const acks = new Map<number, () => void>()
  let seq = 0

  /**
   * Resolves once every subscriber counted by PUBLISH (this instance included) acknowledged
   * dropping its L1 copies, or after `waitMs` (counted). Never throws.
   */
  async function send(tags: string[]): Promise<void> {
    if (!opts.allows()) {
      for (const t of tags) pending.add(t)
      return
    }
    const n = ++seq
    let heard = 0
    let expected = Infinity
    let timer: ReturnType<typeof setTimeout> | undefined
    let done!: () => void
    const acknowledged = new Promise<void>((resolve) => {
      done = resolve
      timer = setTimeout(() => {
        if (opts.listening()) opts.unacknowledged()
        resolve()
      }, opts.waitMs)
    })
    acks.set(n, () => {
      if (++heard >= expected) done()
    })
    try {
      const message = JSON.stringify({ i: opts.instance, n, t: tags })
      expected = await runScript<number>(opts.redis, INVALIDATE, opts.versionKeys(tags), [opts.versionTtlMs, opts.channel, message])
      opts.succeeded()
      if (heard >= expected) done()
      await acknowledged
    } catch (e) {
      opts.failed(e)
      for (const t of tags) pending.add(t)
    } finally {
      clearTimeout(timer)
      acks.delete(n)
    }
  }

  return {
    send,
    /** An acknowledgement of announcement `n` arrived. */
    acknowledged(n: number) {
      acks.get(n)?.()
    },
    /** Send what could not be sent while Redis was unreachable. */
    async flush() {
      if (pending.size === 0) return
      const tags = [...pending]
      pending.clear()
      await send(tags)
    },
  }
}
