/**
 * The pub/sub side of the cache: subscribes to the cache channel, hands each message to the
 * store, and says whether invalidation messages can be trusted to arrive. A connection that
 * closes, or misses a heartbeat PING (a hung or paused server), is "down" until it answers
 * and is subscribed again; the store bypasses and empties L1 meanwhile.
 */
import type { RedisClient } from 'scale-runtime/plugin'

export interface LinkOptions {
  subscriber: RedisClient
  /** Channels to subscribe to; messages on others are ignored. */
  channels: string[]
  /** How often the connection is checked with PING. */
  heartbeatMs: number
  onMessage(channel: string, message: string): void
  /** Called on every change, with the reason. */
  onChange(up: boolean, why: string): void
}

export interface Link {
  readonly up: boolean
  /** Resolves once subscribed (or after `ms`, with the link still down). */
  ready(ms: number): Promise<void>
  stop(): Promise<void>
}

export function createLink(opts: LinkOptions): Link {
  const { subscriber: sub, channels } = opts
  let up = false
  let stopped = false
  let confirming: Promise<void> | undefined

  const set = (next: boolean, why: string) => {
    if (next === up || stopped) return
    up = next
    opts.onChange(next, why)
  }

  const onMessage = (ch: string, message: string) => {
    if (channels.includes(ch)) opts.onMessage(ch, message)
  }
  const onDown = () => set(false, `pub/sub connection ${sub.status}`)
  // ioredis resubscribes by itself after a reconnect; subscribing again confirms it before trusting the link.
  const confirm = () => {
    confirming ??= (sub.subscribe(...channels) as Promise<unknown>)
      .then(() => set(true, 'pub/sub subscribed'))
      .catch((e: Error) => set(false, `subscribe failed: ${e.message}`))
      .finally(() => {
        confirming = undefined
      })
    return confirming
  }

  sub.on('message', onMessage)
  sub.on('close', onDown)
  sub.on('reconnecting', onDown)
  sub.on('ready', confirm)

  const beat = setInterval(() => {
    if (sub.status !== 'ready') return onDown()
    ;(sub.ping() as Promise<unknown>).then(
      () => (up ? undefined : confirm()),
      (e: Error) => set(false, `pub/sub heartbeat failed: ${e.message}`),
    )
  }, opts.heartbeatMs)
  ;(beat as { unref?: () => void }).unref?.()

  const first = confirm()

  return {
    get up() {
      return up
    },
    async ready(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([first, new Promise<void>((r) => (timer = setTimeout(r, ms)))])
      clearTimeout(timer)
    },
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(beat)
      sub.off('message', onMessage)
      sub.off('close', onDown)
      sub.off('reconnecting', onDown)
      sub.off('ready', confirm)
      await (sub.unsubscribe(...channels) as Promise<unknown>).catch(() => {})
    },
  }
}
