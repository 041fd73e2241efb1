/**
 * Reference: Fastify on Node with @fastify/rate-limit keeping its counters in Redis (ioredis),
 * per bearer header, on the same route and JSON as the others (plain .mjs: Node 20 runs no TypeScript).
 */
import Fastify from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { Redis } from 'ioredis'

const app = Fastify()
const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { connectTimeout: 500, maxRetriesPerRequest: 1 })

await app.register(rateLimit, {
  global: false,
  redis,
  nameSpace: `${process.env.BENCH_REDIS_PREFIX ?? 'bench:'}fastify:`,
  max: 1_000_000_000,
  timeWindow: 60_000,
  keyGenerator: (req) => req.headers.authorization ?? req.ip,
})

app.get('/health/live', async () => ({ status: 'live' }))

app.get(
  '/v1/bench/noop',
  {
    config: { rateLimit: { max: 1_000_000_000, timeWindow: 60_000 } },
    onRequest: async (req, reply) => {
      if (!/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]) {
        return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } })
      }
    },
  },
  async () => ({ ok: true }),
)

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
