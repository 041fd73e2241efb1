/**
 * Live job events for every subscriber of this process over one blocking connection: one
 * `XREAD BLOCK` names every stream someone waits on, each from the last id its subscribers
 * have. A new subscriber interrupts the blocked read (CLIENT UNBLOCK from the command
 * connection) so it joins at once instead of after the block timeout.
 *
 * Ids are `<seq>-0`, so "after seq k" is "after id k-0": replay (XRANGE) and live (XREAD)
 * meet with no gap and no duplicate, whatever happened in between.
 */
import type { Logger } from 'pino'
import type { RedisClient } from 'scale-runtime/plugin'

type Entry = [id: string, fields: string[]]

interface Sub {
  key: string
  /** Last seq this subscriber has. */
  last: number
  buffer: Entry[]
  wake?: () => void
}

export interface EventReader {
  /** Follow `key` after `afterSeq`; `next()` resolves with entries, or [] when `signal` aborts or `idleMs` passes. */
  follow(key: string, afterSeq: number): { next(signal: AbortSignal | undefined, idleMs: number): Promise<Entry[]>; close(): void }
  stop(): Promise<void>
}

const seqOf = (id: string) => Number(id.slice(0, id.indexOf('-')))

export function createEventReader(opts: { command: RedisClient; blocking: RedisClient; logger: Logger; blockMs?: number }): EventReader {
  const { command, blocking, logger } = opts
  const blockMs = opts.blockMs ?? 5000
  const subs = new Set<Sub>()
  let stopped = false
  /** Bumped on each new subscription; the read in flight knows which it included. */
  let generation = 0
  let inFlight = -1
  let blocked = false
  let readerId: string | undefined
  let idle: (() => void) | undefined
  let kickTimer: ReturnType<typeof setTimeout> | undefined

  const learnId = () =>
    void (blocking as { client(sub: 'ID'): Promise<number> })
      .client('ID')
      .then((id) => (readerId = String(id)))
      .catch(() => {})
  blocking.on('ready', learnId)
  if (blocking.status === 'ready') learnId()

  /** Make the read in flight return so the next one includes the new subscriber. */
  function kick() {
    if (idle) return idle()
    if (!blocked || inFlight >= generation || kickTimer) return
    if (readerId) void (command as { client(...a: string[]): Promise<unknown> }).client('UNBLOCK', readerId).catch(() => {})
    // The UNBLOCK may reach Redis before the XREAD it meant: try again shortly until it took.
    kickTimer = setTimeout(() => {
      kickTimer = undefined
      kick()
    }, 10)
    kickTimer.unref?.()
  }

  async function loop() {
    let failures = 0
    while (!stopped) {
      if (subs.size === 0) {
        await new Promise<void>((r) => (idle = r))
        idle = undefined
        continue
      }
      const from = new Map<string, number>()
      for (const s of subs) from.set(s.key, Math.min(from.get(s.key) ?? Infinity, s.last))
      const keys = [...from.keys()]
      inFlight = generation
      // This read includes every subscriber so far: a retry left from an earlier one must not
      // hold back the UNBLOCK of the next one.
      clearTimeout(kickTimer)
      kickTimer = undefined
      blocked = true
      let reply: [string, Entry[]][] | null
      try {
        reply = (await blocking.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', ...keys, ...keys.map((k) => `${from.get(k)}-0`))) as
          [string, Entry[]][] | null
        failures = 0
      } catch (e) {
        blocked = false
        if (stopped) return
        if (failures++ === 0) logger.warn({ err: (e as Error).message }, 'llm-queue: reading live events failed; retrying')
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * failures)).unref?.())
        continue
      }
      blocked = false
      for (const [key, entries] of reply ?? []) {
        for (const s of subs) {
          if (s.key !== key) continue
          for (const e of entries) if (seqOf(e[0]) > s.last) s.buffer.push(e)
          if (s.buffer.length) {
            s.last = seqOf(s.buffer.at(-1)![0])
            s.wake?.()
          }
        }
      }
    }
  }
  const running = loop()

  return {
    follow(key, afterSeq) {
      const sub: Sub = { key, last: afterSeq, buffer: [] }
      subs.add(sub)
      generation++
      kick()
      return {
        async next(signal, idleMs) {
          if (!sub.buffer.length && !signal?.aborted) {
            await new Promise<void>((resolve) => {
              const done = () => {
                clearTimeout(t)
                sub.wake = undefined
                signal?.removeEventListener('abort', done)
                resolve()
              }
              const t = setTimeout(done, idleMs)
              sub.wake = done
              signal?.addEventListener('abort', done, { once: true })
            })
          }
          return sub.buffer.splice(0)
        },
        close() {
          subs.delete(sub)
          sub.wake?.()
        },
      }
    },
    async stop() {
      stopped = true
      clearTimeout(kickTimer)
      idle?.()
      for (const s of subs) s.wake?.()
      subs.clear()
      blocking.off('ready', learnId)
      if (blocked && readerId) await (command as { client(...a: string[]): Promise<unknown> }).client('UNBLOCK', readerId).catch(() => {})
      await Promise.race([running, new Promise((r) => setTimeout(r, 1000).unref?.())])
    },
  }
}
