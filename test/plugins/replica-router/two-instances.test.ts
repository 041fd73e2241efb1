/**
 * Two runtime processes on session-redis and one replica 2 s behind: a user writes on A and
 * reads on B, and B never misses the write (the user's WAL position travels in the session).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import type { Redis } from 'ioredis'
import { postgresServerMissing } from '../../helpers/private-postgres.ts'
import { API_READY, call, type Proc, spawnUntil } from '../../helpers/remote.ts'
import { HOOK_TIMEOUT } from '../../helpers/runtime.ts'
import { describeWith, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, uniquePrefix } from '../../redis/redis.ts'
import { type Cluster, startCluster } from './cluster.ts'

const CONFIG = resolve(import.meta.dir, 'fixtures/two-instances.ts')
const ROUNDS = 300
const prefix = uniquePrefix('replica-two')
const missing = postgresServerMissing() ?? (await redisMissing())

const metric = async (base: string, line: RegExp) => Number(line.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0)

describeWith('replica router on two instances with session-redis [private postgres, redis]', missing, () => {
  let cluster: Cluster
  let a: Proc
  let b: Proc
  let redis: Redis

  beforeAll(async () => {
    redis = await connectRedis()
    cluster = await startCluster({ recovery_min_apply_delay: "'2s'" })
    const env = {
      SCALE_CONFIG: CONFIG,
      PORT: '0',
      DATABASE_URL: cluster.primaryUrl,
      DATABASE_REPLICA_URLS: cluster.replicaUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: 'replica-two-instances-secret-0123456789abcdef',
    }
    a = await spawnUntil('core/main.ts', env, API_READY)
    b = await spawnUntil('core/main.ts', env, API_READY)
  }, HOOK_TIMEOUT)

  afterAll(async () => {
    for (const i of [a, b]) {
      i?.proc.kill('SIGTERM')
      await i?.proc.exited
    }
    await cluster?.remove()
    await dropKeys(redis, prefix)
    redis?.disconnect()
  }, HOOK_TIMEOUT)

  test(`${ROUNDS} rounds of "create on A, list on B": 0 misses`, async () => {
    for (const i of [a, b]) {
      const ready = await call(i.base, 'GET', '/health/ready')
      expect(ready.status).toBe(200)
      expect(ready.body.checks['replica-router']).toStartWith('ok')
    }
    const reg = await call(a.base, 'POST', '/v1/auth/register', { email: `rt${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'correct horse battery' })
    expect(reg.status).toBe(201)
    const token = reg.body.token as string

    let misses = 0
    for (let i = 0; i < ROUNDS; i++) {
      const created = await call(a.base, 'POST', '/v1/conversations', { title: `round ${i}` }, token)
      expect(created.status).toBe(201)
      const list = await call(b.base, 'GET', '/v1/conversations?limit=20', undefined, token)
      expect(list.status).toBe(200)
      if (!list.body.items.some((c: { id: string }) => c.id === created.body.id)) misses++
    }
    expect(misses).toBe(0)
    // B sent those reads to the primary because the replica had not applied the user's write.
    expect(await metric(b.base, /replica_router_primary_reads_total\{reason="not_caught_up"\} (\d+)/)).toBeGreaterThanOrEqual(ROUNDS)
  }, 120_000)
})
