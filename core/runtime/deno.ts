/**
 * Deno: `Deno.serve` with the app's fetch handler, the socket route through
 * `Deno.upgradeWebSocket` (see deno-socket.ts), the body limit counted on chunked bodies
 * (body-limit.ts),
 * argon2id from hash-wasm. Hashes are PHC strings either way, so a database moves between
 * runtimes.
 */
import { limitBody, undeclaredBody } from './body-limit.ts'
import { serveDenoSocket } from './deno-socket.ts'
import type { RuntimeAdapter } from './adapter.ts'
import { socketRegistry } from './socket.ts'

interface DenoServer {
  finished: Promise<void>
  shutdown(): Promise<void>
  addr: { port: number }
}
interface ServeInfo {
  remoteAddr: { hostname: string }
}
declare const Deno: {
  version: { deno: string }
  serve(
    opts: { port: number; hostname: string; onListen?: () => void },
    handler: (r: Request, info: ServeInfo) => Response | Promise<Response>,
  ): DenoServer
}

/** The path of a request URL without parsing the whole URL (this runs on every request). */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const q = url.indexOf('?', start)
  return start < 0 ? '/' : url.slice(start, q < 0 ? undefined : q)
}

export const denoRuntime: RuntimeAdapter = {
  name: 'deno',
  version: Deno.version.deno,
  async listen(app, { port, hostname, maxRequestBodySize, socket }) {
    const fetch = app.fetch
    const peers = new WeakMap<Request, string>()
    const sockets = socketRegistry()
    // Aborted by a forced stop: cuts the event streams still open (Deno's shutdown only waits).
    const cut = new AbortController()
    const server = Deno.serve({ port, hostname, onListen: () => {} }, async (request, info) => {
      if (socket && pathOf(request.url) === socket.route.path) return serveDenoSocket(request, socket, sockets)
      if (undeclaredBody(request)) request = limitBody(request, maxRequestBodySize)
      peers.set(request, info.remoteAddr.hostname)
      const res = await fetch(request)
      if (!res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) return res
      const body = res.body.pipeThrough(new TransformStream(), { signal: cut.signal })
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
    })
    return {
      port: server.addr.port,
      clientAddress: (request) => peers.get(request),
      async stop(graceful) {
        await sockets.closeAll()
        const done = server.shutdown()
        if (!graceful) cut.abort()
        await done
      },
    }
  },
  async hashPassword(password) {
    const { argon2id } = await import('hash-wasm')
    const salt = crypto.getRandomValues(new Uint8Array(16))
    return argon2id({ password, salt, iterations: 2, parallelism: 1, memorySize: 65536, hashLength: 32, outputType: 'encoded' })
  },
  async verifyPassword(password, hash) {
    const { argon2Verify } = await import('hash-wasm')
    return argon2Verify({ password, hash })
  },
  // V8 exposes gc() only with --expose-gc; without it, Deno collects on its own schedule.
  collectGarbage: () => (globalThis as { gc?: () => void }).gc?.(),
}
