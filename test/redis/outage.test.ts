/**
 * Redis paused and stopped under load, on a private redis-server (the shared one is never
 * touched): each fallback policy answers as documented, no request waits much longer than
 * the command timeout, and checks go back to Redis by themselves once it answers again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import type { Runtime } from '../../core/app.ts'
import type { ScaleConfig } from '../../core/config/define.ts'
import { createRuntime } from '../../core/app.ts'
import { resolveConfig } from '../../core/config/load.ts'
import { createLogger } from '../../core/observability/logger.ts'
import rateLimitRedis, { createRedisRateLimiter } from '../../plugins/ratelimit-redis/index.ts'
import sessionRedis from '../../plugins/session-redis/index.ts'
import { describeWith } from '../helpers/services.ts'
import { client, HOOK_TIMEOUT, TEST_SECRET } from '../helpers/runtime.ts'
import { privateRedis, redisServerMissing, type PrivateRedis } from './private-server.ts'
import { connectRedis } from './redis.ts'

const COMMAND_TIMEOUT = 300
/** Generous: a busy 2-core machine, a request's own work, and the event loop on top of the timeout. */
const MAX_WAIT = COMMAND_TIMEOUT + 2000
const RECOVERY = 5_000

const tiers: ScaleConfig['tiers'] = {
  free: { requestsPerMinute: { api: 5, sync: 3 }, chatPerMinute: 100, maxTokens: 100 },
  paid: { requestsPerMinute: { api: 5, sync: 3 }, chatPerMinute: 100, maxTokens: 100 },
}

describeWith('ratelimit-redis and session-redis when Redis fails [redis-server]', redisServerMissing(), () => {
  let server: PrivateRedis
  let rt: Runtime
  let admin: Redis
  let base: string
  const logs: string[] = []
  const api = client(() => rt)

  beforeAll(async () => {
    server = await privateRedis()
    admin = await connectRedis(server.url)
    const config = resolveConfig({
      database: { dataDir: 'memory://' },
      server: { port: 0, hostname: '127.0.0.1' },
      auth: { jwtSecret: TEST_SECRET },
      logging: { level: 'info', requests: false },
      redis: { url: server.url, keyPrefix: 'outage:', commandTimeout: COMMAND_TIMEOUT },
      tiers,
      anonymous: { requestsPerMinute: 1000 },
      plugins: [
        sessionRedis(),
        // One policy per route group, so one runtime shows all three.
        rateLimitRedis({
          fallback: 'local',
          fallbackByGroup: { api: 'open', sync: 'local', anonymous: 'closed' },
          breaker: { probeInterval: '250 ms' },
        }),
      ],
    })
    rt = await createRuntime(config, { logger: createLogger('info', { write: (line: string) => void logs.push(line) }) })
    base = `http://127.0.0.1:${(await rt.listen()).port}`
  }, HOOK_TIMEOUT)

  afterAll(async () => {
    await rt?.stop()
    admin?.disconnect()
    await server?.kill()
  }, HOOK_TIMEOUT)

  /** Run `fn`, failing the test if it takes longer than MAX_WAIT. */
  async function timed<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now()
    const out = await fn()
    const took = performance.now() - start
    if (took > MAX_WAIT) throw new Error(`a request took ${Math.round(took)} ms while Redis was down (bound ${MAX_WAIT} ms)`)
    return out
  }

  /** Polls until the plugin and the core connection report ok; returns how long it took. */
  async function waitForRecovery(): Promise<number> {
    const start = Date.now()
    while (Date.now() - start < RECOVERY + 2_000) {
      const ready = await api.get('/health/ready')
      if (ready.body.checks?.['ratelimit-redis'] === 'ok' && ready.body.checks?.redis === 'ok') return Date.now() - start
      await Bun.sleep(100)
    }
    throw new Error('rate limits did not go back to Redis')
  }

  const register = () =>
    timed(() =>
      api.post('/v1/auth/register', { email: `o${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'correct horse battery' }),
    )

  async function checkPolicies(token: string, syncToken: string) {
    // api → open: a fresh user's 10 requests all pass although the limit is 5.
    const open = await Promise.all(Array.from({ length: 10 }, () => timed(() => api.get('/v1/me', token))))
    expect(open.map((r) => r.status)).toEqual(Array(10).fill(200))
    // sync → local: the instance's own limiter counts, 3 a minute.
    const local = await Promise.all(Array.from({ length: 8 }, () => timed(() => api.get('/v1/sync', syncToken))))
    expect(local.filter((r) => r.status === 200)).toHaveLength(3)
    expect(local.filter((r) => r.status === 429)).toHaveLength(5)
    // anonymous → closed: 503 OVERLOADED with Retry-After.
    const closed = await register()
    expect(closed.status).toBe(503)
    expect(closed.body.error.code).toBe('OVERLOADED')
    expect(Number(closed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  }

  test('CLIENT PAUSE: every policy answers as documented within the command timeout, and Redis is used again within 5 s', async () => {
    const users = await Promise.all([1, 2, 3, 4].map(() => api.user()))
    // The pausing connection is paused too (so is CLIENT UNPAUSE): the pause simply runs out.
    const pauser = await connectRedis(server.url)
    const PAUSE = 4_000
    await pauser.call('CLIENT', 'PAUSE', String(PAUSE), 'ALL')
    const pauseEnds = Date.now() + PAUSE
    pauser.disconnect()
    await checkPolicies(users[0]!.token, users[1]!.token)
    const ready = await api.get('/health/ready')
    expect(ready.status).toBe(200) // a shared dependency down: degraded, not out of the load balancer
    expect(ready.body.checks['ratelimit-redis']).toStartWith('degraded')
    expect(Date.now()).toBeLessThan(pauseEnds) // all of the above was decided during the pause
    await Bun.sleep(pauseEnds - Date.now())
    expect(await waitForRecovery()).toBeLessThan(RECOVERY)
    // Back on Redis: the limit is shared again, and counted there.
    const after = []
    for (let i = 0; i < 6; i++) after.push((await api.get('/v1/me', users[2]!.token)).status)
    expect(after).toEqual([200, 200, 200, 200, 200, 429])
    expect(await admin.exists(`outage:rl:{u:${users[2]!.id}:api}`)).toBe(1)
    const metrics = (await api.get('/metrics')).body as string
    for (const policy of ['open', 'local', 'closed'])
      expect(metrics).toMatch(new RegExp(`ratelimit_redis_fallback_total\\{policy="${policy}"\\} [1-9]`))
    expect(logs.some((l) => l.includes('rate limits: redis unavailable'))).toBe(true)
    expect(logs.some((l) => l.includes('rate limits: back on redis'))).toBe(true)
  }, 30_000)

  test('Redis stopped for 3 s under load: no request waits past the bound, chat says 503 UNAVAILABLE, and all is back within 5 s of the restart', async () => {
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => api.user()))
    const conversation = (await api.post('/v1/conversations', { title: 'outage' }, d!.token)).body.id as string
    await server.kill()
    const statuses: Record<string, number[]> = { api: [], sync: [] }
    let slowest = 0
    try {
      await checkPolicies(a!.token, b!.token)
      // Load for the rest of the outage, over real sockets: 8 clients in a loop on the open group.
      const until = Date.now() + 3_000
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < until) {
            const start = performance.now()
            const res = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${c!.token}` } })
            await res.arrayBuffer()
            statuses.api!.push(res.status)
            slowest = Math.max(slowest, performance.now() - start)
          }
        }),
      )
      const chat = await timed(() => api.post(`/v1/conversations/${conversation}/messages`, { content: 'hello?' }, d!.token))
      expect(chat.status).toBe(503)
      expect(chat.body.error.code).toBe('UNAVAILABLE')
    } finally {
      await server.start()
    }
    expect(slowest).toBeLessThan(MAX_WAIT)
    expect(statuses.api!.length).toBeGreaterThan(20)
    expect(new Set(statuses.api)).toEqual(new Set([200]))
    // A fresh server has no scripts cached: the first check after recovery falls back to EVAL.
    expect(await waitForRecovery()).toBeLessThan(RECOVERY)
    const back = await api.post(`/v1/conversations/${conversation}/messages`, { content: 'back' }, d!.token)
    expect(back.status).toBe(202)
    const fresh = await api.user()
    const after = []
    for (let i = 0; i < 6; i++) after.push((await api.get('/v1/me', fresh.token)).status)
    expect(after).toEqual([200, 200, 200, 200, 200, 429])
  }, 40_000)

  test('a script the server forgot (SCRIPT FLUSH) is sent again with EVAL, and the check still answers', async () => {
    const conn = await connectRedis(server.url)
    let scripts = 0
    const counted = new Proxy(conn, {
      get(target, prop) {
        const v = Reflect.get(target, prop)
        if (prop === 'evalsha' || prop === 'eval') {
          return (...args: unknown[]) => {
            scripts++
            return (v as (...a: unknown[]) => unknown).apply(target, args)
          }
        }
        return typeof v === 'function' ? v.bind(target) : v
      },
    }) as unknown as Redis
    const limiter = createRedisRateLimiter({ redis: counted, keyPrefix: 'flush:' })
    const rule = { limit: 5, windowMs: 60_000 }
    await limiter.consume('u:1:api', rule)
    await admin.script('FLUSH')
    scripts = 0
    expect((await limiter.consume('u:2:api', rule)).allowed).toBe(true)
    expect(scripts).toBe(2) // EVALSHA (NOSCRIPT), then EVAL
    expect((await limiter.consume('u:3:api', rule)).allowed).toBe(true)
    expect(scripts).toBe(3)
    await limiter.stop?.()
    conn.disconnect()
  })
})
