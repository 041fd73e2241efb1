/**
 * Bun: `Bun.serve` with the app's fetch handler (chunked bodies counted, body-limit.ts), the socket route and direct routes on Bun's own router and
 * WebSocket handler (frame limit, idle pings and backpressure are Bun's), `Bun.password`
 * (argon2id) for hashing, `Bun.build` for the console's browser bundle.
 */
import type { Server, ServerWebSocket } from 'bun'
import http from 'node:http'
import { limitBody, undeclaredBody } from './body-limit.ts'
import type { RuntimeAdapter } from './adapter.ts'
import { frameText, idleSeconds, socketRegistry, type ServerSocket, type SocketRoute } from './socket.ts'

interface SocketData {
  accepted: unknown
  socket?: ServerSocket<unknown>
}

let nextId = 0

function wrap(ws: ServerWebSocket<SocketData>): ServerSocket<unknown> {
  return {
    id: `b${++nextId}`,
    data: ws.data.accepted,
    send: (d) => ws.send(d),
    close: (code, reason) => ws.close(code, reason),
    getBufferedAmount: () => ws.getBufferedAmount(),
    ping: (d) => void ws.ping(d),
  }
}

/**
 * Bun's HTTP parser answers a bare 431 past `http.maxHeaderSize` (16 KiB by default, one
 * setting per process). It is raised so that headers between the app's own limit (16 KiB,
 * http/observe.ts) and this get the API's JSON 431; beyond this the parser answers alone.
 */
const HEADER_PARSER_BYTES = 128 * 1024

export const bunRuntime: RuntimeAdapter = {
  name: 'bun',
  version: Bun.version,
  async listen(app, { port, hostname, maxRequestBodySize, socket, direct = {} }) {
    const h = http as unknown as { maxHeaderSize: number }
    if (h.maxHeaderSize < HEADER_PARSER_BYTES) h.maxHeaderSize = HEADER_PARSER_BYTES
    app.compile()
    const sockets = socketRegistry()
    const route: SocketRoute<unknown> | undefined = socket?.route
    const fetch = app.fetch
    // Requests re-made for the body count; requestIP only knows the ones the server made.
    const peers = new WeakMap<Request, string | undefined>()
    const server = Bun.serve<SocketData>({
      port,
      hostname,
      // Bun would answer an empty 413 itself to any declared Content-Length above this, before
      // the app sees it; so it is unbounded, and the app's Content-Length check and the chunked
      // count (body-limit.ts) answer every over-limit body, in the API's error shape.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      development: false,
      // Elysia's own listen uses these too: 30 s for an HTTP connection without traffic.
      idleTimeout: 30,
      fetch(request, srv) {
        if (!undeclaredBody(request)) return fetch(request)
        const counted = limitBody(request, maxRequestBodySize)
        peers.set(counted, srv.requestIP(request)?.address)
        return fetch(counted)
      },
      routes: {
        // Other methods on these paths go to `fetch`, so the app answers them as before.
        ...Object.fromEntries(Object.entries(direct).map(([path, handler]) => [path, { GET: handler }])),
        ...(route && {
          [route.path]: async (request: Request, srv: Server<SocketData>) => {
            const answer = await route.upgrade(request)
            if (answer instanceof Response) return answer
            const headers = answer.protocol ? { 'sec-websocket-protocol': answer.protocol } : undefined
            if (srv.upgrade(request, { data: { accepted: answer.data }, headers })) return undefined as unknown as Response
            return new Response(null, { status: 400 })
          },
        }),
      },
      websocket: {
        idleTimeout: idleSeconds(socket?.limits),
        maxPayloadLength: socket?.limits.maxFrameBytes ?? 64 * 1024,
        sendPings: true,
        open(ws) {
          const s = wrap(ws)
          ws.data.socket = s
          sockets.add(s)
          route?.open(s)
        },
        message(ws, message) {
          if (ws.data.socket) void route?.message(ws.data.socket, frameText(message))
        },
        drain(ws) {
          if (ws.data.socket) route?.drain(ws.data.socket)
        },
        pong(ws, data) {
          if (ws.data.socket) route?.pong?.(ws.data.socket, frameText(data))
        },
        close(ws, code, reason) {
          const s = ws.data.socket
          if (!s) return
          sockets.delete(s)
          route?.close(s, code, reason)
        },
      },
    })
    return {
      port: server.port ?? port,
      clientAddress: (request) => (peers.has(request) ? peers.get(request) : server.requestIP(request)?.address),
      stop: async (graceful) => {
        await sockets.closeAll()
        await server.stop(!graceful)
      },
    }
  },
  hashPassword: (password) => Bun.password.hash(password, { algorithm: 'argon2id' }),
  verifyPassword: (password, hash) => Bun.password.verify(password, hash),
  collectGarbage: () => Bun.gc(true),
  async bundle(entry) {
    const out = await Bun.build({ entrypoints: [entry], target: 'browser', minify: true, throw: false })
    if (!out.success) throw new Error(`bundling ${entry} failed: ${out.logs.map((l) => l.message).join('; ')}`)
    return Promise.all(
      out.outputs
        .filter((o) => o.kind === 'entry-point' || o.path.endsWith('.css'))
        .map(async (o) => {
          const css = o.path.endsWith('.css')
          return {
            name: css ? 'app.css' : 'app.js',
            type: css ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
            body: await o.text(),
          }
        }),
    )
  },
}
