/**
 * Writes frames and job streams to one WebSocket without silent gaps. Streams are pulled one
 * event at a time and pause while the socket has more than `maxBufferedBytes` queued; a
 * stream paused longer than `slowClientTimeoutMs`, or a frame the server dropped, closes the
 * socket with 4008 so the client reconnects and resumes after its last seq.
 */
import type { JobEvent } from '../ports/llm-dispatch.ts'

/** Close code for a client that cannot keep up: reconnect and resume with `afterSeq`. */
export const CLOSE_SLOW_CLIENT = 4008

/** The part of a server WebSocket the sink needs (Bun's `ServerWebSocket` has it). */
export interface SinkSocket {
  /** Bun: bytes sent, -1 when queued under backpressure, 0 when dropped. */
  send(data: string): number
  close(code?: number, reason?: string): void
  getBufferedAmount(): number
}

export interface SocketSink {
  /** Send one frame; false once the socket is closed. */
  write(frame: object): boolean
  /** Forward a job's events to the socket, replacing any stream of the same job. */
  pump(jobId: string, events: (signal: AbortSignal) => AsyncIterable<JobEvent>, onError: (e: unknown) => void): Promise<void>
  /** Call from the socket's `drain` handler. */
  drained(): void
  /** Call from the socket's `close` handler: ends every stream. */
  closed(): void
}

export function createSocketSink(socket: SinkSocket, opts: { maxBufferedBytes: number; slowClientTimeoutMs: number }): SocketSink {
  const streams = new Map<string, AbortController>()
  const waiting = new Set<() => void>()
  let open = true

  const closeSlow = () => {
    if (!open) return
    open = false
    socket.close(CLOSE_SLOW_CLIENT, 'slow client: reconnect and resume with afterSeq')
  }

  const write = (frame: object) => {
    if (!open) return false
    if (socket.send(JSON.stringify(frame)) === 0) {
      closeSlow()
      return false
    }
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
    async pump(jobId, events, onError) {
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
      for (const done of [...waiting]) done()
    },
    closed() {
      open = false
      for (const a of streams.values()) a.abort()
      streams.clear()
      for (const done of [...waiting]) done()
    },
  }
}
