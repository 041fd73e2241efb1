/**
 * The Redis scenarios: the pipeline route with ratelimit-redis and session-redis loaded,
 * exact (one script per request) and on leases, against bare Elysia, a minimal Elysia doing
 * one EVALSHA per request, and Fastify with @fastify/rate-limit on Redis. Redis is the one at
 * BENCH_REDIS_URL (else TEST_REDIS_URL, else 127.0.0.1:6379), unpinned; the keys of a run
 * share one fresh prefix and expire by themselves (every key has a TTL).
 */
import { fileURLToPath } from 'node:url'
import type { Scenario, StackSpec } from './types.ts'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const bun = process.execPath
const node = process.env.BENCH_NODE ?? 'node'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `bench:${Date.now().toString(36)}:`
const redisEnv = { BENCH_REDIS_URL: REDIS_URL, BENCH_REDIS_PREFIX: PREFIX }

async function redisDown(): Promise<string | undefined> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
    return undefined
  } catch (e) {
    return `Redis at ${REDIS_URL} is not reachable (${(e as Error).message})`
  } finally {
    redis.disconnect()
  }
}

const bearer = async () => ({ authorization: 'Bearer bench' })

function runtime(id: string, label: string, config: string, role: StackSpec['role'] = 'runtime'): StackSpec {
  return {
    id,
    label,
    role,
    argv: [bun, here('../core/main.ts')],
    env: () => ({ SCALE_CONFIG: here(`./configs/${config}.ts`), REDIS_URL, REDIS_KEY_PREFIX: PREFIX }),
    readyPath: '/health/live',
    prepare: async (base) => {
      const res = await fetch(`${base}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `bench-${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'bench password, long enough' }),
      })
      const body = (await res.json()) as { token?: string }
      if (res.status !== 201 || !body.token) throw new Error(`register at ${base} answered ${res.status}: ${JSON.stringify(body)}`)
      return { authorization: `Bearer ${body.token}` }
    },
  }
}

const bareElysia: StackSpec = {
  id: 'elysia',
  label: 'bare Elysia (Bun)',
  role: 'elysia',
  argv: [bun, here('./servers/bare-elysia.ts')],
  readyPath: '/health/live',
  prepare: bearer,
}

const evalshaElysia: StackSpec = {
  id: 'elysia-evalsha',
  label: 'Elysia + one EVALSHA (ioredis)',
  role: 'reference',
  argv: [bun, here('./servers/elysia-evalsha.ts')],
  env: () => redisEnv,
  readyPath: '/health/live',
  prepare: bearer,
}

const fastifyRedis: StackSpec = {
  id: 'fastify-redis',
  label: 'Fastify + @fastify/rate-limit on Redis (Node)',
  role: 'fastify',
  argv: [node, here('./servers/fastify-redis.mjs')],
  env: () => redisEnv,
  readyPath: '/health/live',
  prepare: bearer,
}

export const REDIS_SCENARIOS: Scenario[] = [
  {
    name: 'redis',
    namedOnly: true,
    title: 'redis: pipeline route (GET /v1/bench/noop) with ratelimit-redis and session-redis, exact limits',
    path: '/v1/bench/noop',
    target: { min: 0.3, text: '≥ 0.30x bare Elysia (and ≥ 1.4x Fastify + @fastify/rate-limit on Redis)' },
    unavailable: redisDown,
    stacks: [
      runtime('runtime', 'runtime, Redis plugins, exact', 'redis'),
      // What Redis adds over the process-local defaults, on the same machine in the same run.
      runtime('runtime-memory', 'runtime, memory defaults', 'default', 'reference'),
      evalshaElysia,
      bareElysia,
      fastifyRedis,
    ],
  },
  {
    name: 'redis-lease',
    namedOnly: true,
    title: 'redis-lease: the same route, the api group on leases of 100',
    path: '/v1/bench/noop',
    target: { min: 0.6, text: '≥ 0.6x bare Elysia' },
    unavailable: redisDown,
    stacks: [runtime('runtime', 'runtime, Redis plugins, leases of 100', 'redis-lease'), bareElysia],
  },
]
