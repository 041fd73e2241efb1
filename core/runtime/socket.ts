/**
 * The WebSocket contract between routes and runtimes: a route describes one socket endpoint
 * as a {@link SocketRoute} over {@link ServerSocket}s, and each runtime adapter serves it
 * (Bun with `server.upgrade`, Deno with `Deno.upgradeWebSocket`), so routes never learn
 * which runtime they run on.
 */

/** Close code sent to every open socket when the server drains: reconnect (elsewhere) and resume. */
export const CLOSE_SERVICE_RESTART = 1012
/** Close code for a frame over `websocket.maxFrameBytes`. */
export const CLOSE_TOO_BIG = 1009

/** One accepted socket, as a route sees it. */
export interface ServerSocket<T = unknown> {
  /** Unique per socket within the process. */
  readonly id: string
  /** What the route's `upgrade` returned for this socket (the verified user, say). */
  readonly data: T
  /** Send one text frame: bytes written, -1 when queued behind backpressure, 0 when dropped. */
  send(data: string): number
  close(code?: number, reason?: string): void
  /** Bytes sent to this socket and not yet written to the network. */
  getBufferedAmount(): number
  /** Send a ping with this payload (Bun); the route's `pong` gets it back once the client has read up to it. */
  ping?(data: string): void
}

/** Accept the upgrade with this data, and echo this subprotocol (a browser needs one of its own back). */
export interface Accept<T> {
  data: T
  protocol?: string
}

/** A WebSocket endpoint, independent of the runtime. */
export interface SocketRoute<T = unknown> {
  /** Exact path, e.g. `/v1/ws`. */
  path: string
  /** Runs before the upgrade: a Response refuses it (401, 403, ...); an {@link Accept} upgrades. */
  upgrade(request: Request): Promise<Response | Accept<T>>
  open(socket: ServerSocket<T>): void
  /** One text frame (binary frames arrive decoded as UTF-8). Frames over the limit never get here. */
  message(socket: ServerSocket<T>, text: string): void | Promise<void>
  /** The socket's queued bytes went down: streams paused for backpressure may go on. */
  drain(socket: ServerSocket<T>): void
  /** A pong with this payload, in answer to {@link ServerSocket.ping}. */
  pong?(socket: ServerSocket<T>, data: string): void
  close(socket: ServerSocket<T>, code: number, reason: string): void
}

/** The `websocket` section of the config, as the adapters need it. */
export interface SocketLimits {
  /** A socket silent this long is pinged, and closed when the ping goes unanswered. */
  idleTimeoutMs: number
  /** Larger frames close the socket with 1009. */
  maxFrameBytes: number
  /** The route closes clients that leave bytes unread this long (4008): the idle check must not come first. */
  slowClientTimeoutMs?: number
}

/**
 * Seconds of silence before a socket is pinged and then dropped: `idleTimeoutMs`, but at least
 * 10 s more than `slowClientTimeoutMs`, so that a client that stops reading gets its 4008
 * (with every whole frame before it) rather than being cut off by the idle check.
 */
export function idleSeconds(limits: SocketLimits | undefined): number {
  const idle = Math.round((limits?.idleTimeoutMs ?? 60_000) / 1000)
  const slow = limits?.slowClientTimeoutMs === undefined ? 0 : Math.ceil(limits.slowClientTimeoutMs / 1000) + 10
  return Math.max(8, idle, slow)
}

/** The sockets one listening server holds, so that a drain can close them all with 1012. */
export function socketRegistry() {
  const open = new Set<ServerSocket<unknown>>()
  let emptied: (() => void) | undefined
  return {
    add: (s: ServerSocket<unknown>) => void open.add(s),
    delete(s: ServerSocket<unknown>) {
      open.delete(s)
      if (open.size === 0) emptied?.()
    },
    /**
     * Close every socket and wait (up to `waitMs`) for their close handshakes, so that the
     * close frames go out before the server itself shuts down (Deno would send 1001 instead).
     */
    async closeAll(code = CLOSE_SERVICE_RESTART, reason = 'server restarting: reconnect and resume with afterSeq', waitMs = 2000) {
      if (open.size === 0) return
      let timer: ReturnType<typeof setTimeout> | undefined
      const done = new Promise<void>((resolve) => {
        emptied = resolve
        timer = setTimeout(resolve, waitMs)
      })
      for (const s of [...open]) s.close(code, reason)
      await done
      clearTimeout(timer)
    },
  }
}

export type SocketRegistry = ReturnType<typeof socketRegistry>

/** A frame's text, whichever form the runtime handed it in. */
export function frameText(message: string | ArrayBuffer | ArrayBufferView): string {
  if (typeof message === 'string') return message
  return decoder.decode(message)
}

const decoder = new TextDecoder()

/** True for a request that asks to become a WebSocket. */
export const wantsUpgrade = (request: Request) => request.headers.get('upgrade')?.toLowerCase() === 'websocket'
