/**
 * Two runtime instances as separate processes (`bun core/main.ts`), on one PostgreSQL
 * database and one Redis, behave as one: a reply running on A locks the conversation for B,
 * and a user's limit is the same whichever instance they hit.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { describeWith, freshPostgresDatabase, postgresMissing, REDIS_URL, redisMissing } from '../helpers/services.ts'
import { API_READY, call, type Proc, spawnUntil } from '../helpers/remote.ts'
import { HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { keysUnder, keysWithoutTtl, uniquePrefix, useSharedRedis } from './redis.ts'

const CONFIG = resolve(import.meta.dir, 'fixtures/two-instances.ts')
const prefix = uniquePrefix('two-instances')
const missing = (await postgresMissing()) ?? (await redisMissing())

type Instance = Proc
const startInstance = (env: Record<string, string>) => spawnUntil('core/main.ts', { ...env, SCALE_CONFIG: CONFIG, PORT: '0' }, API_READY)

describeWith('two instances on one PostgreSQL and one Redis [postgres, redis]', missing, () => {
  let a: Instance
  let b: Instance
  let drop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    const db = await freshPostgresDatabase()
    drop = db.drop
    const env = { DATABASE_URL: db.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, JWT_SECRET: 'two-instances-test-secret-0123456789abcdef' }
    a = await startInstance(env) // A migrates the new database first
    b = await startInstance(env)
  }, HOOK_TIMEOUT)

  afterAll(async () => {
    for (const i of [a, b]) {
      i?.proc.kill('SIGTERM')
      await i?.proc.exited
    }
    await drop?.()
  }, HOOK_TIMEOUT)
  // After the instances' hooks: their keys are dropped once they stopped.
  const shared = useSharedRedis(prefix)

  test('both are ready, and report their Redis connection', async () => {
    for (const i of [a, b]) {
      const ready = await call(i.base, 'GET', '/health/ready')
      expect(ready.status).toBe(200)
      expect(ready.body.checks.redis).toBe('ok')
      expect(ready.body.checks['ratelimit-redis']).toBe('ok')
      const metrics = await (await fetch(`${i.base}/metrics`)).text()
      expect(metrics).toContain('redis_connection_up{connection="command"} 1')
    }
  })

  test('registered on A, logged in on B; a reply running on A makes a send through B a 409 CONFLICT, and its end frees B', async () => {
    const email = `two${crypto.randomUUID().slice(0, 8)}@example.com`
    const password = 'correct horse battery'
    expect((await call(a.base, 'POST', '/v1/auth/register', { email, password })).status).toBe(201)
    const login = await call(b.base, 'POST', '/v1/auth/login', { email, password })
    expect(login.status).toBe(200)
    const tokenB = login.body.token as string
    const tokenA = (await call(a.base, 'POST', '/v1/auth/login', { email, password })).body.token as string
    const conv = (await call(b.base, 'POST', '/v1/conversations', { title: 'shared' }, tokenB)).body.id as string

    const first = await call(a.base, 'POST', `/v1/conversations/${conv}/messages`, { content: 'tell me a story' }, tokenA)
    expect(first.status).toBe(202)
    const onB = await call(b.base, 'POST', `/v1/conversations/${conv}/messages`, { content: 'and another' }, tokenB)
    expect(onB.status).toBe(409)
    expect(onB.body.error.code).toBe('CONFLICT')
    expect(await keysUnder(shared.redis, `${prefix}lock:{reply:${login.body.user.id}:${conv}}`)).toHaveLength(1)

    // The job runs on A (llm dispatch is per instance in this config); when it ends the lock goes.
    const deadline = Date.now() + 30_000
    let status = ''
    while (Date.now() < deadline && status !== 'done') {
      status = (await call(a.base, 'GET', `/v1/jobs/${first.body.job.id}`, undefined, tokenA)).body.status
      await Bun.sleep(100)
    }
    expect(status).toBe('done')
    const again = await call(b.base, 'POST', `/v1/conversations/${conv}/messages`, { content: 'and another' }, tokenB)
    expect(again.status).toBe(202)
    // The conversation buffer A wrote is in Redis, where B read it to build its context.
    expect(await shared.redis.llen(`${prefix}buf:{${conv}}:turns`)).toBeGreaterThanOrEqual(2)
  }, 60_000)

  test('1,000 concurrent requests of one user over both instances at 100 a minute: exactly 100 admitted; no key without a TTL', async () => {
    const email = `burst${crypto.randomUUID().slice(0, 8)}@example.com`
    const reg = await call(a.base, 'POST', '/v1/auth/register', { email, password: 'correct horse battery' })
    const token = reg.body.token as string
    // The sliding-window counter weighs the previous minute in: a burst that straddled the
    // turn of a minute by more than 0.6 s (1% of the window) could get one more. Start well
    // inside a minute, as the clock of the Redis server sees it.
    const [seconds] = await shared.redis.time()
    const intoMinute = (Number(seconds) % 60) * 1000
    if (intoMinute > 45_000) await Bun.sleep(60_000 - intoMinute + 200)
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const res = await fetch(`${(i % 2 ? a : b).base}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
        await res.arrayBuffer()
        return res.status
      }),
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(100)
    expect(statuses.filter((s) => s === 429)).toHaveLength(900)
    expect(await keysUnder(shared.redis, `${prefix}rl:{u:${reg.body.user.id}:api}`)).toHaveLength(1)
    expect(await keysWithoutTtl(shared.redis, prefix)).toEqual([])
  }, 120_000)
})
