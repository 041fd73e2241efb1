/** Reference: Fastify on Node with the same routes and JSON as the runtime (plain .mjs: Node 20 runs no TypeScript). */
import Fastify from 'fastify'

// Fastify's defaults: no logger, no response schema, so the JSON goes through JSON.stringify as in the others.
const app = Fastify()

app.get('/health/live', async () => ({ status: 'live' }))

app.get(
  '/v1/bench/noop',
  {
    // The same trivial bearer parsing as the bare Elysia reference.
    onRequest: async (req, reply) => {
      if (!/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]) {
        return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } })
      }
    },
  },
  async () => ({ ok: true }),
)

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
