/**
 * `data-cache`: the data route (`GET /v1/conversations` on PostgreSQL) served from the cache
 * plugin's L1, and answered 304 on If-None-Match, next to bare Elysia with no database,
 * bare Elysia + postgres.js, and the runtime with its reads uncached. One seeded user and
 * database shared by every stack; Redis at BENCH_REDIS_URL (else TEST_REDIS_URL, else
 * 127.0.0.1:6379) under a fresh key prefix whose keys all expire.
 */
import { fileURLToPath } from 'node:url'
import { createBenchDatabase, postgresDown } from './postgres.ts'
import type { Scenario, StackSpec } from './types.ts'
import { CONVERSATIONS, seedConversations } from './seed.ts'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const bun = process.execPath
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `bench-cache:${Date.now().toString(36)}:`
const PATH = '/v1/conversations'

/** The route read once with the seeded user's header, so the entry is cached (and its ETag known). */
async function warm(base: string, headers: Record<string, string>): Promise<{ headers: Record<string, string>; etag: string }> {
  const res = await fetch(base + PATH, { headers })
  await res.text()
  if (res.status !== 200) throw new Error(`${PATH} at ${base} answered ${res.status}`)
  return { headers, etag: res.headers.get('etag') ?? '' }
}

function runtime(id: string, label: string, config: string, role: StackSpec['role'], extra: Partial<StackSpec> = {}): StackSpec {
  return {
    id,
    label,
    role,
    argv: [bun, here('../core/main.ts')],
    env: (ctx) => ({ SCALE_CONFIG: here(`./configs/${config}.ts`), DATABASE_URL: ctx.db!.url, REDIS_URL, REDIS_KEY_PREFIX: PREFIX }),
    readyPath: '/health/live',
    prepare: async (base, ctx) => (await warm(base, ctx.headers!)).headers,
    late: true,
    ...extra,
  }
}

const bareElysia = (id: string, label: string, server: string, role: StackSpec['role']): StackSpec => ({
  id,
  label,
  role,
  argv: [bun, here(`./servers/${server}.ts`)],
  env: (ctx) => ({ DATABASE_URL: ctx.db!.url, BENCH_USER_ID: ctx.userId! }),
  readyPath: PATH,
  prepare: async () => ({ authorization: 'Bearer bench' }),
  late: true,
})

export const CACHE_SCENARIOS: Scenario[] = [
  {
    name: 'data-cache',
    namedOnly: true,
    title: `data-cache: GET ${PATH} on PostgreSQL (${CONVERSATIONS} conversations) from the cache plugin's L1`,
    path: PATH,
    target: { min: 0.6, text: 'L1 hit ≥ 0.6x bare Elysia without a database (and ≥ 3x the uncached runtime)' },
    unavailable: () => postgresDown(),
    setup: async () => ({ db: await createBenchDatabase() }),
    teardown: async (ctx) => ctx.db?.drop(),
    stacks: [
      // First, alone: migrates the database and seeds the user the other stacks read.
      runtime('runtime', 'runtime, cache plugin (L1 hit)', 'cache', 'runtime', {
        late: false,
        prepare: async (base, ctx) => (await warm(base, await seedConversations(base, ctx))).headers,
      }),
      runtime('runtime-304', 'runtime, cache plugin, If-None-Match (304)', 'cache', 'reference', {
        status: 304,
        prepare: async (base, ctx) => {
          const { headers, etag } = await warm(base, ctx.headers!)
          return { ...headers, 'if-none-match': etag }
        },
      }),
      runtime('runtime-uncached', 'runtime, reads uncached (cache.ttl 0)', 'no-cache', 'reference'),
      bareElysia('elysia', 'bare Elysia, no database (page read once at start)', 'bare-elysia-static', 'elysia'),
      bareElysia('elysia-pg', 'bare Elysia + postgres.js', 'bare-elysia-pg', 'reference'),
    ],
  },
]
