/**
 * Reference: the least a Bun server that checks a limit in Redis can do per request: bare
 * Elysia, the same bearer check, and one EVALSHA of the same sliding-window script through
 * ioredis (one key per bearer header).
 */
import { Elysia } from 'elysia'
import { Redis } from 'ioredis'
import { loadScript } from '../../core/redis/script.ts'

const script = loadScript(new URL('../../plugins/ratelimit-redis/lua/sliding-window.lua', import.meta.url))
const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true, commandTimeout: 500 })
await redis.script('LOAD', script.source)
const prefix = process.env.BENCH_REDIS_PREFIX ?? 'bench:'

const unauthorized = () =>
  new Response('{"error":{"code":"UNAUTHORIZED","message":"a bearer token is required"}}', {
    status: 401,
    headers: { 'content-type': 'application/json' },
  })

new Elysia()
  .get('/health/live', () => ({ status: 'live' }))
  .get('/v1/bench/noop', () => ({ ok: true }), {
    beforeHandle: async ({ request }) => {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]
      if (!token) return unauthorized()
      const r = (await redis.evalsha(script.sha, 1, `${prefix}rl:{${token}}`, 1_000_000_000, 60_000, 1, 1)) as number[]
      if (r[0] !== 1) return new Response('{"error":{"code":"RATE_LIMITED","message":"slow down"}}', { status: 429 })
    },
  })
  .listen({ port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' })
