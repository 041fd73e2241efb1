/**
 * A {@link SocketRoute} on Deno: `Deno.upgradeWebSocket` after the route accepts, with the
 * limits Bun applies by itself done here: frames over `maxFrameBytes` close with 1009, idle
 * sockets are pinged (Deno's `idleTimeout`), and `drain` is raised by watching
 * `bufferedAmount` go down, since Deno has no drain event.
 */
import { CLOSE_TOO_BIG, frameText, idleSeconds, type ServerSocket, type SocketLimits, type SocketRegistry, type SocketRoute } from './socket.ts'

declare const Deno: {
  upgradeWebSocket(request: Request, opts: { protocol?: string; idleTimeout?: number }): { socket: WebSocket; response: Response }
  unrefTimer(id: number): void
}

/** How often a socket with queued bytes is checked for a drain. */
const DRAIN_POLL_MS = 10

const encoder = new TextEncoder()
let nextId = 0

/** Bytes in a frame, counting a string's UTF-8 only when its length alone does not settle it. */
function tooBig(data: unknown, max: number): boolean {
  if (typeof data === 'string') return data.length * 3 > max && (data.length > max || encoder.encode(data).byteLength > max)
  if (data instanceof ArrayBuffer) return data.byteLength > max
  return ArrayBuffer.isView(data) && data.byteLength > max
}

export async function serveDenoSocket(
  request: Request,
  { route, limits }: { route: SocketRoute<any>; limits: SocketLimits },
  sockets: SocketRegistry,
): Promise<Response> {
  const answer = await route.upgrade(request)
  if (answer instanceof Response) return answer
  const { socket: ws, response } = Deno.upgradeWebSocket(request, {
    protocol: answer.protocol,
    idleTimeout: idleSeconds(limits),
  })
  ws.binaryType = 'arraybuffer'

  let poll: ReturnType<typeof setInterval> | undefined
  const stopPolling = () => {
    clearInterval(poll)
    poll = undefined
  }
  const s: ServerSocket<unknown> = {
    id: `d${++nextId}`,
    data: answer.data,
    send(data) {
      if (ws.readyState !== WebSocket.OPEN) return 0
      ws.send(data)
      if (ws.bufferedAmount === 0) return data.length
      watchDrain()
      return -1
    },
    close: (code, reason) => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason)
    },
    getBufferedAmount: () => ws.bufferedAmount,
  }
  // Bun raises `drain` when its send buffer empties; here, every time the queue goes down.
  function watchDrain() {
    if (poll !== undefined) return
    let last = ws.bufferedAmount
    poll = setInterval(() => {
      const now = ws.bufferedAmount
      if (ws.readyState !== WebSocket.OPEN || now === 0) stopPolling()
      if (now < last) route.drain(s)
      last = now
    }, DRAIN_POLL_MS)
    Deno.unrefTimer(poll as unknown as number)
  }

  ws.onopen = () => {
    sockets.add(s)
    route.open(s)
  }
  ws.onmessage = (m) => {
    if (tooBig(m.data, limits.maxFrameBytes)) return s.close(CLOSE_TOO_BIG, `frames are limited to ${limits.maxFrameBytes} bytes`)
    void route.message(s, frameText(m.data as string | ArrayBuffer))
  }
  ws.onclose = (e) => {
    stopPolling()
    sockets.delete(s)
    route.close(s, e.code, e.reason)
  }
  return response
}
