/**
 * Bun: Elysia's own Bun adapter for serving (with WebSocket), Bun.password (argon2id) for
 * hashing, Bun.build for the console's browser bundle.
 */
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
