/**
 * Writes frames and job streams to one WebSocket without silent gaps. Streams are pulled one
 * event at a time and pause while the socket has more than `maxBufferedBytes` queued.
 *
 * A client is slow when bytes sent to it stay unread for `slowClientTimeoutMs`, whatever
 * their volume: the socket is then closed with 4008 so the client reconnects and resumes
 * after its last seq. Where the runtime can ping (Bun), writes are followed by a ping (one
 * out at a time, at most one a second); its pong comes back only once the client has read
 * every byte before it, so it is a read receipt even for a few bytes in the kernel's buffers.
 * Elsewhere (Deno) bytes are unread while the runtime's own queue holds them and does not
 * go down. A frame the server dropped also closes with 4008.
 */
import type { JobEvent } from '../ports/llm-dispatch.ts'

/** Close code for a client that cannot keep up: reconnect and resume with `afterSeq`. */
export const CLOSE_SLOW_CLIENT = 4008
export const SLOW_CLIENT_REASON = 'slow client: reconnect and resume with afterSeq'

/** The part of a server WebSocket the sink needs (Bun's `ServerWebSocket` has it). */
export interface SinkSocket {
  /** Bun: bytes sent, -1 when queued under backpressure, 0 when dropped. */
  send(data: string): number
  close(code?: number, reason?: string): void
  getBufferedAmount(): number
  /** Send a ping with this payload, when the runtime can; the pong goes to {@link SocketSink.ponged}. */
  ping?(data: string): void
}

export interface SocketSink {
  /** Send one frame; false once the socket is closed. */
  write(frame: object): boolean
  /** Forward a job's events to the socket, replacing any stream of the same job. */
  relay(jobId: string, events: (signal: AbortSignal) => AsyncIterable<JobEvent>, onError: (e: unknown) => void): Promise<void>
  /** Call from the socket's `drain` handler. */
  drained(): void
  /** Call from the socket's `pong` handler, with the pong's payload. */
  ponged(data: string): void
  /** Call from the socket's `close` handler: ends every stream. */
  closed(): void
}

/**
 * When the oldest bytes the client has not been seen to read were sent (undefined: none).
 * With pings: the writes a ping covers are read when its pong arrives; writes made while a
 * ping is out wait for the next one, sent when that pong arrives. Pings go at most one per
 * `gapMs`, so a fast stream costs one ping every `gapMs`, not one per frame.
 */
function unreadTracker(socket: SinkSocket, gapMs: number) {
  let probes = 0
  let probe: string | undefined
  let lastProbeAt = -Infinity
  let deferred: ReturnType<typeof setTimeout> | undefined
  let covered: number | undefined
  let uncovered: number | undefined
  let buffered: number | undefined
  const sendProbe = () => {
    deferred = undefined
    if (probe !== undefined || covered === undefined) return
    const now = Date.now()
    if (now - lastProbeAt < gapMs) {
      deferred = setTimeout(sendProbe, lastProbeAt + gapMs - now)
      return
    }
    lastProbeAt = now
    probe = `s${++probes}`
    socket.ping!(probe)
  }
  return {
    wrote(now: number) {
      if (socket.ping) {
        if (probe === undefined) {
          covered ??= now
          if (deferred === undefined) sendProbe()
        } else uncovered ??= now
      } else if (socket.getBufferedAmount() > 0) buffered ??= now
    },
    ponged(data: string) {
      if (data !== probe) return
      probe = undefined
      covered = uncovered
      uncovered = undefined
      if (deferred === undefined) sendProbe()
    },
    /** The runtime's queue went down: the client reads, so the wait starts again (or is over). */
    drained(now: number) {
      buffered = socket.getBufferedAmount() > 0 ? now : undefined
    },
    since: () => (socket.ping ? covered : buffered),
    stop: () => clearTimeout(deferred),
  }
}

export function createSocketSink(socket: SinkSocket, opts: { maxBufferedBytes: number; slowClientTimeoutMs: number }): SocketSink {
  const streams = new Map<string, AbortController>()
  const waiting = new Set<() => void>()
  // A reading client's pong comes back well within the timeout even when its ping waited this long.
  const unread = unreadTracker(socket, Math.min(1_000, opts.slowClientTimeoutMs / 4))
  let watchdog: ReturnType<typeof setTimeout> | undefined
  let open = true

  const closeSlow = () => {
    if (!open) return
    open = false
    clearTimeout(watchdog)
    unread.stop()
    socket.close(CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON)
  }

  // One timer at a time, set for when the oldest unread bytes turn slowClientTimeoutMs old.
  const watch = () => {
    const since = unread.since()
    if (!open || watchdog !== undefined || since === undefined) return
    watchdog = setTimeout(
      () => {
        watchdog = undefined
        const now = unread.since()
        if (now !== undefined && Date.now() - now >= opts.slowClientTimeoutMs) closeSlow()
        else watch()
      },
      Math.max(0, since + opts.slowClientTimeoutMs - Date.now()),
    )
  }

  const write = (frame: object) => {
    if (!open) return false
    if (socket.send(JSON.stringify(frame)) === 0) {
      closeSlow()
      return false
    }
    unread.wrote(Date.now())
    watch()
    return true
  }

  const waitForDrain = () =>
    new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        waiting.delete(done)
        resolve(open)
      }
      const timer = setTimeout(() => {
        waiting.delete(done)
        resolve(false)
      }, opts.slowClientTimeoutMs)
      waiting.add(done)
    })

  return {
    write,
    async relay(jobId, events, onError) {
      streams.get(jobId)?.abort()
      const abort = new AbortController()
      streams.set(jobId, abort)
      try {
        for await (const ev of events(abort.signal)) {
          if (!write(ev)) return
          while (open && socket.getBufferedAmount() > opts.maxBufferedBytes) {
            if (!(await waitForDrain())) return closeSlow()
          }
        }
      } catch (e) {
        if (!abort.signal.aborted) onError(e)
      } finally {
        if (streams.get(jobId) === abort) streams.delete(jobId)
      }
    },
    drained() {
      unread.drained(Date.now())
      watch()
      for (const done of [...waiting]) done()
    },
    ponged(data) {
      unread.ponged(data)
      watch()
    },
    closed() {
      open = false
      clearTimeout(watchdog)
      unread.stop()
      for (const a of streams.values()) a.abort()
      streams.clear()
      for (const done of [...waiting]) done()
    },
  }
}
