/** Bun: Elysia's own Bun adapter for serving (with WebSocket), Bun.password (argon2id) for hashing. */
import type { RuntimeAdapter } from './index.ts'

export const bunRuntime: RuntimeAdapter = {
  name: 'bun',
  async listen(app, { port, hostname, maxRequestBodySize }) {
    app.listen({ port, hostname, maxRequestBodySize })
    const server = app.server
    if (!server) throw new Error('the Bun server did not start')
    return {
      port: server.port ?? port,
      stop: async (graceful) => {
        await server.stop(!graceful)
      },
    }
  },
  hashPassword: (password) => Bun.password.hash(password, { algorithm: 'argon2id' }),
  verifyPassword: (password, hash) => Bun.password.verify(password, hash),
}
