/**
 * pool-tuner across processes on a private PostgreSQL with max_connections = 30 (budget 30 -
 * 3 reserved - 3 headroom = 24): two api instances and one worker on one Redis size their
 * pools to 8 each; 200 concurrent slow requests never take the server past the budget and
 * none fails; one instance killed, the other two grow to 12 once its heartbeat expires.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import type { Redis } from 'ioredis'
import { heartbeatKeys, liveProcesses } from '../../../core/redis/heartbeat.ts'
import { postgresServerMissing, startPrivatePostgres, type PrivatePostgres } from '../../helpers/private-postgres.ts'
import { API_READY, spawnUntil, type Proc } from '../../helpers/remote.ts'
import { HOOK_TIMEOUT } from '../../helpers/runtime.ts'
import { describeWith, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, uniquePrefix } from '../../redis/redis.ts'
import { killAll } from '../llm-queue/processes.ts'
import { peakConnections } from './peak.ts'

const FIXTURE = resolve(import.meta.dir, 'fixtures/cluster.ts')
const BUDGET = 30 - 3 - 3
const missing = postgresServerMissing() ?? (await redisMissing())
const prefix = uniquePrefix('pool-tuner')

async function poolSize(p: Proc): Promise<number> {
  const text = await (await fetch(`${p.base}/metrics`)).text()
  const m = /^db_pool_size (\d+)$/m.exec(text)
  if (!m) throw new Error(`no db_pool_size in /metrics of ${p.base}`)
  return Number(m[1])
}

async function until(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return
    await Bun.sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

describeWith('pool-tuner: two api instances and a worker on max_connections = 30 [private postgres, redis]', missing, () => {
  let pg: PrivatePostgres
  let redis: Redis
  let a: Proc | undefined
  let b: Proc | undefined
  let w: Proc | undefined

  beforeAll(async () => {
    pg = await startPrivatePostgres({ settings: { max_connections: '30' } })
    redis = await connectRedis()
    const env = {
      SCALE_CONFIG: FIXTURE,
      DATABASE_URL: pg.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: 'pool-tuner-processes-secret-0123456789abcdef',
    }
    try {
      a = await spawnUntil('core/main.ts', { ...env, PORT: '0' }, API_READY) // migrates first
      ;[b, w] = await Promise.all([
        spawnUntil('core/main.ts', { ...env, PORT: '0' }, API_READY),
        spawnUntil('core/worker.ts', { ...env, WORKER_PORT: '0' }, /worker health on http:\/\/[^:]+:(\d+)[\s\S]*worker running/),
      ])
    } catch (e) {
      await killAll([a, b, w])
      throw e
    }
  }, HOOK_TIMEOUT * 2)

  afterAll(async () => {
    try {
      for (const p of [a, b, w]) if (p && p.proc.exitCode === null) p.proc.kill('SIGTERM')
      await Promise.race([Promise.all([a, b, w].map((p) => p?.proc.exited)), Bun.sleep(15_000)])
    } finally {
      await killAll([a, b, w])
      await dropKeys(redis, prefix)
      redis?.disconnect()
      await pg?.remove()
    }
  }, HOOK_TIMEOUT)

  test('three processes size themselves to 8 each: the limits sum to at most the budget', async () => {
    await until('every process at 8', async () => (await Promise.all([a!, b!, w!].map(poolSize))).every((n) => n === 8), 20_000)
    const sizes = await Promise.all([a!, b!, w!].map(poolSize))
    expect(sizes.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(BUDGET)
    const live = await liveProcesses(redis, heartbeatKeys(prefix, new URL(pg.url).host))
    expect(live.map((p) => p.role).sort()).toEqual(['api', 'api', 'worker'])
    expect(live.map((p) => p.limits.primary)).toEqual([8, 8, 8])
    const ready = await (await fetch(`${a!.base}/health/ready`)).json()
    expect(ready.checks['pool-tuner']).toBe('ok: primary 8 of 24 across 3 processes')
  }, 40_000)

  test('200 concurrent slow requests never take the server past its budget and never fail', async () => {
    const { peak, result: responses } = await peakConnections(pg.url, () =>
      Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fetch(`${(i % 2 ? a : b)!.base}/test/sleep?ms=250`).then(async (r) => ({ status: r.status, body: await r.text() })),
        ),
      ),
    )
    expect(responses.filter((r) => r.status !== 200)).toEqual([])
    // The monitor's own connection is one of those counted.
    expect(peak).toBeGreaterThan(8)
    expect(peak).toBeLessThanOrEqual(BUDGET + 1)
    for (const p of [a!, b!, w!]) expect(p.output()).not.toContain('too many clients')
  }, 60_000)

  test('one instance killed: the other two grow to 12 each after its heartbeat expires', async () => {
    b!.proc.kill('SIGKILL')
    await b!.proc.exited
    const killedAt = Date.now()
    await until('the others at 12', async () => (await Promise.all([a!, w!].map(poolSize))).every((n) => n === 12), 20_000)
    const sizes = await Promise.all([a!, w!].map(poolSize))
    expect(sizes.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(BUDGET)
    // They waited for the TTL (2 s) rather than guessing the death from one missed beat.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000)
    const live = await liveProcesses(redis, heartbeatKeys(prefix, new URL(pg.url).host))
    expect(live.map((p) => p.role).sort()).toEqual(['api', 'worker'])
  }, 40_000)
})
