/**
 * The replica scenario: the `data` route (GET /v1/conversations) on the runtime with
 * replica-router and one streaming replica, against the same runtime on the primary alone,
 * in one run. Primary and replica are a private pair on free ports (as in the replica tests),
 * removed afterwards; every stack reads the same user's 20 conversations.
 */
import { fileURLToPath } from 'node:url'
import { postgresServerMissing, startPrivatePostgres, startReplica } from '../test/helpers/private-postgres.ts'
import type { Scenario, StackSpec } from './types.ts'
import { CONVERSATIONS, seedConversations } from './seed.ts'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `bench:${Date.now().toString(36)}:`

const stack = (id: string, label: string, config: string, role: StackSpec['role'], late: boolean): StackSpec => ({
  id,
  label,
  role,
  argv: [process.execPath, here('../core/main.ts')],
  env: (ctx) => ({
    SCALE_CONFIG: here(`./configs/${config}.ts`),
    DATABASE_URL: ctx.db!.url,
    DATABASE_REPLICA_URLS: ctx.replicaUrl!,
    REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
  }),
  readyPath: '/health/live',
  // The first stack migrates and seeds; the later ones read the same user's rows.
  prepare: async (base, ctx) => (late ? ctx.headers! : seedConversations(base, ctx)),
  late,
})

export const REPLICA_SCENARIOS: Scenario[] = [
  {
    name: 'replica',
    namedOnly: true,
    title: `replica: GET /v1/conversations (${CONVERSATIONS} conversations) with replica-router and one streaming replica`,
    path: '/v1/conversations',
    baseline: 'the primary alone',
    target: { min: 0.95, text: '≥ 0.95x the runtime on the primary alone' },
    unavailable: async () => postgresServerMissing(),
    setup: async () => {
      const primary = await startPrivatePostgres({ settings: { max_connections: '100' } })
      try {
        // The replica first: a base backup of a fresh cluster needs no long checkpoint.
        const replica = await startReplica(primary, { settings: { max_connections: '100' } })
        await primary.sql('create database bench')
        const url = (u: string) => u.replace(/\/postgres$/, '/bench')
        return {
          db: {
            url: url(primary.url),
            name: 'bench',
            drop: async () => {
              await replica.remove()
              await primary.remove()
            },
          },
          replicaUrl: url(replica.url),
        }
      } catch (e) {
        await primary.remove()
        throw e
      }
    },
    teardown: async (ctx) => ctx.db?.drop(),
    stacks: [
      stack('primary', 'runtime on the primary alone', 'default', 'elysia', false),
      stack('runtime', 'runtime + replica-router, one replica', 'replica', 'runtime', true),
      stack('runtime-redis', 'the same, write marks in session-redis', 'replica-redis', 'reference', true),
    ],
  },
]
