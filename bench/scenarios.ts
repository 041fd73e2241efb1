/** The scenarios: which servers run side by side, which route they are loaded on, and the target for the runtime. */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createBenchDatabase, postgresDown } from './postgres.ts'
import { CACHE_SCENARIOS } from './cache-scenario.ts'
import { REDIS_SCENARIOS } from './redis-scenarios.ts'
import { REPLICA_SCENARIOS } from './replica-scenarios.ts'
import { CONVERSATIONS, register, seedConversations } from './seed.ts'
import type { Context, Role, Scenario, StackSpec } from './types.ts'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const bun = process.execPath
/** Deno from the `deno` npm package, as `deno task start` runs it (`deno run -A`, so the pid measured is the server's). */
const deno = here('../node_modules/.bin/deno')
const node = process.env.BENCH_NODE ?? 'node'
const MAIN = here('../core/main.ts')
const runtime = (
  id: string,
  label: string,
  config: string,
  role: Role = 'runtime',
  hookOff?: string,
  extra: Partial<StackSpec> = {},
): StackSpec => ({
  id,
  label,
  role,
  hookOff,
  argv: [bun, MAIN],
  env: () => ({ SCALE_CONFIG: here(`./configs/${config}.ts`) }),
  readyPath: '/health/live',
  prepare: async (base, ctx) => (await register(base, ctx)).headers,
  ...extra,
})

const bareElysia: StackSpec = {
  id: 'elysia',
  label: 'bare Elysia (Bun)',
  role: 'elysia',
  argv: [bun, here('./servers/bare-elysia.ts')],
  readyPath: '/health/live',
  prepare: async () => ({ authorization: 'Bearer bench' }),
}

/** Bare Elysia that also sets X-Request-Id on every answer, as the runtime must: shown as a second baseline. */
const bareElysiaWithId: StackSpec = {
  ...bareElysia,
  id: 'elysia-request-id',
  label: 'bare Elysia + X-Request-Id (reference)',
  role: 'reference',
  env: () => ({ BARE_REQUEST_ID: '1' }),
}

/** The pipeline route's work (request id, token lookup, limiter, RateLimit headers, access log, metrics) hand-written on bare Elysia. */
const elysiaSameWork: StackSpec = {
  ...bareElysia,
  id: 'elysia-same-work',
  label: 'bare Elysia doing the same work by hand (reference)',
  role: 'reference',
  argv: [bun, here('./servers/elysia-same-work.ts')],
}

const fastify: StackSpec = {
  id: 'fastify',
  label: 'Fastify (Node)',
  role: 'fastify',
  argv: [node, here('./servers/fastify.mjs')],
  readyPath: '/health/live',
  prepare: async () => ({ authorization: 'Bearer bench' }),
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'pipeline',
    title: 'pipeline: authenticated no-op route (GET /v1/bench/noop)',
    path: '/v1/bench/noop',
    target: { min: 0.75, text: '≥ 0.75x bare Elysia' },
    stacks: [
      runtime('runtime', 'runtime (default config)', 'default'),
      runtime('no-logging', 'runtime, access log off', 'no-logging', 'variant', 'access log (logging.requests)'),
      runtime('no-metrics', 'runtime, metrics off', 'no-metrics', 'variant', 'request metrics (metrics.enabled)'),
      runtime(
        'no-token-cache',
        'runtime, token cache off',
        'no-token-cache',
        'variant',
        'token cache (auth.tokenCacheSize 0: jose on every request)',
      ),
      runtime('no-rate-limit', 'runtime, limiter no-op', 'no-rate-limit', 'variant', 'rate limiter (memory sliding window)'),
      runtime('minimal', 'runtime, log+metrics+limiter off', 'minimal', 'variant', 'access log, metrics and limiter together'),
      bareElysia,
      bareElysiaWithId,
      elysiaSameWork,
      fastify,
    ],
  },
  {
    name: 'health',
    title: 'health: GET /health/live',
    path: '/health/live',
    target: { min: 0.9, text: 'within 10% of bare Elysia' },
    stacks: [
      runtime('runtime', 'runtime (default config)', 'default', 'runtime', undefined, { prepare: async () => ({}) }),
      bareElysia,
      { ...bareElysiaWithId, prepare: async () => ({}) },
      { ...fastify, prepare: async () => ({}) },
    ],
  },
  {
    name: 'data',
    title: `data: GET /v1/conversations on PostgreSQL (${CONVERSATIONS} conversations, one page)`,
    path: '/v1/conversations',
    target: { min: 0.8, text: '≥ 0.8x bare Elysia + postgres.js' },
    unavailable: () => postgresDown(),
    setup: async () => ({ db: await createBenchDatabase() }),
    teardown: async (ctx) => ctx.db?.drop(),
    stacks: [
      runtime('runtime', 'runtime (default config, PostgreSQL)', 'default', 'runtime', undefined, {
        env: (ctx) => ({ SCALE_CONFIG: here('./configs/default.ts'), DATABASE_URL: ctx.db!.url }),
        // The seed goes through the API, as a client would create them.
        prepare: async (base, ctx) => seedConversations(base, ctx),
      }),
      {
        id: 'elysia',
        label: 'bare Elysia + postgres.js',
        role: 'elysia',
        argv: [bun, here('./servers/bare-elysia-pg.ts')],
        env: (ctx) => ({ DATABASE_URL: ctx.db!.url, BENCH_USER_ID: ctx.userId! }),
        readyPath: '/v1/conversations',
        prepare: async () => ({ authorization: 'Bearer bench' }),
        late: true,
      },
    ],
  },
  {
    name: 'pipeline-deno',
    title: 'pipeline on Deno: authenticated no-op route (GET /v1/bench/noop)',
    path: '/v1/bench/noop',
    target: { min: 0.75, text: '≥ 0.75x bare Elysia on Deno' },
    namedOnly: true,
    unavailable: async () => (existsSync(deno) ? undefined : `no deno binary at ${deno} (npm install brings it)`),
    stacks: [
      runtime('runtime', 'runtime on Deno (default config)', 'default', 'runtime', undefined, { argv: [deno, 'run', '-A', MAIN] }),
      { ...bareElysia, label: 'bare Elysia (Deno)', argv: [deno, 'run', '-A', here('./servers/bare-elysia.ts')] },
    ],
  },
  ...REDIS_SCENARIOS,
  ...REPLICA_SCENARIOS,
  ...CACHE_SCENARIOS,
]

export function scenarioNamed(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name)
  if (!s) throw new Error(`no scenario "${name}"; the scenarios are ${SCENARIOS.map((x) => x.name).join(', ')}`)
  return s
}
