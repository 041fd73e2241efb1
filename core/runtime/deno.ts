/**
 * Deno: `Deno.serve` with the app's fetch handler (no WebSocket route: Elysia's `.ws()`
 * needs its Bun adapter), argon2id from hash-wasm. Hashes are PHC strings either way, so
 * a database moves between runtimes.
 */
import type { RuntimeAdapter } from './index.ts'

interface DenoServer {
  finished: Promise<void>
  shutdown(): Promise<void>
  addr: { port: number }
}
declare const Deno: {
  serve(opts: { port: number; hostname: string; onListen?: () => void }, handler: (r: Request) => Response | Promise<Response>): DenoServer
}

export const denoRuntime: RuntimeAdapter = {
  name: 'deno',
  async listen(app, { port, hostname }) {
    const server = Deno.serve({ port, hostname, onListen: () => {} }, (r) => app.fetch(r))
    return { port: server.addr.port, stop: () => server.shutdown() }
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
}
