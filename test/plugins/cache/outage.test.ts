/**
 * The cache plugin when Redis fails, on a private redis-server (the shared one is never
 * touched): the pub/sub connection killed (no stale read while it is down, L1 back after),
 * and Redis paused under HTTP load (no 5xx, nobody waits much past the command timeout).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import type { Runtime } from '../../../core/app.ts'
import cache from '../../../plugins/cache/index.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../../helpers/services.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { privateRedis, redisServerMissing, type PrivateRedis } from '../../redis/private-server.ts'
import { connectRedis } from '../../redis/redis.ts'
import { cacheInstance, metricValue, type TestInstance } from './helpers.ts'

const COMMAND_TIMEOUT = 300
/** Generous: a busy 2-core machine, the request's own database work, and the event loop on top of the timeout. */
const MAX_WAIT = COMMAND_TIMEOUT + 2000

/** Read until the read is an L1 hit (the fill that puts a loaded value in L1 runs after the load answers); fails after 5 s. */
async function untilL1Hit<T>(i: TestInstance, read: () => Promise<T>): Promise<T> {
  const before = await metricValue(i.metrics, 'cache_hits_total', { level: 'l1' })
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const value = await read()
    if ((await metricValue(i.metrics, 'cache_hits_total', { level: 'l1' })) > before) return value
    await Bun.sleep(20)
  }
  throw new Error('no L1 hit within 5 s')
}

describeWith('cache plugin when Redis fails [redis-server, postgres]', redisServerMissing() ?? (await postgresMissing()), () => {
  let server: PrivateRedis
  let admin: Redis
  let rt: Runtime | undefined
  let dropDb: (() => Promise<void>) | undefined
  beforeAll(async () => {
    server = await privateRedis()
    admin = await connectRedis(server.url)
    // On PostgreSQL: the embedded database is slow to start on a busy machine.
    const db = await freshPostgresDatabase()
    dropDb = db.drop
    rt = await startRuntime({
      database: { url: db.url },
      redis: { url: server.url, keyPrefix: 'pause:', commandTimeout: COMMAND_TIMEOUT },
      plugins: [cache({ heartbeat: '200 ms' })],
      tiers: {
        free: { requestsPerMinute: { api: 100_000, sync: 100 }, chatPerMinute: 100, maxTokens: 100 },
        paid: { requestsPerMinute: { api: 100_000, sync: 100 }, chatPerMinute: 100, maxTokens: 100 },
      },
    })
  }, 3 * HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await dropDb?.()
    admin?.disconnect()
    await server?.kill()
  }, HOOK_TIMEOUT)

  test('pub/sub killed: 0 stale reads while it is down, L1 hits come back after it reconnects', async () => {
    const a: TestInstance = await cacheInstance(server.url, 'kill:', { commandTimeoutMs: COMMAND_TIMEOUT })
    const b: TestInstance = await cacheInstance(server.url, 'kill:', { commandTimeoutMs: COMMAND_TIMEOUT })
    try {
      const key = 'conv:1'
      const tag = 'conv-tag:1'
      let version = 0
      const load = async () => version
      expect(await untilL1Hit(b, () => b.cache.wrap(key, 60_000, [tag], load))).toBe(0)

      expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThanOrEqual(2)
      let stale = 0
      let whileDown = 0
      const deadline = Date.now() + 10_000
      // Write on A, read on B, until B's link is back and has been for a few rounds.
      for (let upRounds = 0; upRounds < 20 && Date.now() < deadline;) {
        version++
        await a.cache.invalidate([tag])
        if ((await b.cache.wrap(key, 60_000, [tag], load)) !== version) stale++
        if (b.cache.health() === 'ok') upRounds++
        else whileDown++
      }
      expect(stale).toBe(0)
      expect(whileDown).toBeGreaterThan(0)
      expect(await metricValue(b.metrics, 'cache_outages_total', { part: 'pubsub' })).toBeGreaterThanOrEqual(1)

      expect(await untilL1Hit(b, () => b.cache.wrap(key, 60_000, [tag], load))).toBe(version)
    } finally {
      await a.stop()
      await b.stop()
    }
  })

  test('Redis paused 3 s under load: 0 5xx, no request slower than the command timeout plus a margin, no stale list after', async () => {
    {
      const http = client(() => rt!)
      const api = http.call
      const tokens: string[] = []
      for (let i = 0; i < 4; i++) {
        const { token } = await http.user()
        tokens.push(token)
        await http.post('/v1/conversations', { title: 'first' }, token)
      }
      expect((await api('GET', '/health/ready')).body.checks.cache).toBe('ok')

      const statuses = new Map<number, number>()
      let slowest = 0
      let created = 0
      const newest = new Map<string, string>()
      let running = true
      const worker = async (token: string, n: number) => {
        for (let i = 0; running; i++) {
          const write = i % 10 === n
          const started = performance.now()
          const r = write
            ? await api('POST', '/v1/conversations', { token, body: { title: `w${i}` } })
            : await api('GET', i % 2 ? '/v1/conversations' : '/v1/me', { token })
          slowest = Math.max(slowest, performance.now() - started)
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
          if (write && r.status === 201) {
            created++
            newest.set(token, r.body.title)
          }
        }
      }
      const load = tokens.map((t, n) => worker(t, n))
      await Bun.sleep(300)
      const pauser = await connectRedis(server.url)
      await pauser.call('CLIENT', 'PAUSE', '3000', 'ALL')
      pauser.disconnect()
      await Bun.sleep(1500)
      const during = (await api('GET', '/health/ready')).body.checks.cache as string
      await Bun.sleep(1500 + 1500)
      running = false
      await Promise.all(load)
      console.log(
        'statuses during the pause test',
        Object.fromEntries(statuses),
        'slowest',
        Math.round(slowest),
        'ms; cache check during the pause:',
        during,
      )

      expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([])
      expect(slowest).toBeLessThan(MAX_WAIT)
      expect(during).toStartWith('degraded')
      // Back to normal by itself, and each user's newest conversation (created during or after the pause) heads their list.
      const deadline = Date.now() + 5000
      while ((await api('GET', '/health/ready')).body.checks.cache !== 'ok' && Date.now() < deadline) await Bun.sleep(100)
      expect((await api('GET', '/health/ready')).body.checks.cache).toBe('ok')
      expect(created).toBeGreaterThan(0)
      for (const token of tokens) {
        if (!newest.has(token)) continue
        expect((await api('GET', '/v1/conversations?limit=1', { token })).body.items[0].title).toBe(newest.get(token))
      }
    }
  }, 60_000)
})
