/**
 * The core's pool on real PostgreSQL: a starved pool answers 503 OVERLOADED within the
 * acquire timeout (never a hang), and the slow-query log carries SQL, never parameters.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { Writable } from 'node:stream'
import { createRuntime, type Runtime } from '../../../core/app.ts'
import { resolveConfig } from '../../../core/config/load.ts'
import type { ScaleConfig } from '../../../core/config/define.ts'
import { createLogger } from '../../../core/observability/logger.ts'
import { HOOK_TIMEOUT, TEST_SECRET } from '../../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../../helpers/services.ts'
import sleepRoute from './fixtures/sleep-route.ts'

const pgMissing = await postgresMissing()

/** A runtime whose log lines are kept in `lines`. */
async function runtimeWithLog(overrides: ScaleConfig) {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const config = resolveConfig({
    auth: { jwtSecret: TEST_SECRET },
    logging: { level: 'info', requests: false },
    server: { port: 0, hostname: '127.0.0.1' },
    ...overrides,
  })
  const rt = await createRuntime(config, { logger: createLogger('info', sink) })
  return { rt, lines }
}

const request = (rt: Runtime, path: string, init?: RequestInit) => rt.app.handle(new Request(`http://local${path}`, init))

describeWith('core pool: acquire timeout [postgres]', pgMissing, () => {
  let rt: Runtime
  let drop: () => Promise<void>
  beforeAll(async () => {
    const db = await freshPostgresDatabase()
    drop = db.drop
    ;({ rt } = await runtimeWithLog({ database: { url: db.url, pool: { max: 2, pipeline: 1, acquireTimeout: '500 ms' } }, plugins: [sleepRoute()] }))
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await drop?.()
  }, HOOK_TIMEOUT)

  // pipeline 1: one query per connection, so two slow queries hold the whole pool.
  test('a pool of 2 held by slow queries: a third request is 503 OVERLOADED with Retry-After within the timeout plus a margin', async () => {
    const held = [request(rt, '/test/sleep?ms=3000'), request(rt, '/test/sleep?ms=3000')]
    // Let both take their connection.
    for (let i = 0; i < 100 && rt.slots.dbPool.stats().inUse < 2; i++) await Bun.sleep(20)
    expect(rt.slots.dbPool.stats()).toMatchObject({ size: 2, inUse: 2 })
    const started = performance.now()
    const third = await request(rt, '/test/sleep?ms=1')
    const took = performance.now() - started
    expect(third.status).toBe(503)
    expect(third.headers.get('retry-after')).toBe('1')
    expect((await third.json()).error.code).toBe('OVERLOADED')
    expect(took).toBeGreaterThanOrEqual(450)
    expect(took).toBeLessThan(500 + 1500)
    for (const r of await Promise.all(held)) expect(r.status).toBe(200)
    const metrics = await (await request(rt, '/metrics')).text()
    expect(metrics).toMatch(/^db_pool_acquire_timeouts_total 1$/m)
    expect(metrics).toMatch(/^db_pool_size 2$/m)
    expect(metrics).toMatch(/^db_query_duration_seconds_count\{operation="select"\} \d+$/m)
  }, 30_000)
})

for (const kind of ['pglite', 'postgres'] as const) {
  describeWith(`core pool: slow-query log [${kind}]`, kind === 'postgres' ? pgMissing : undefined, () => {
    let rt: Runtime
    let lines: string[]
    let drop: (() => Promise<void>) | undefined
    beforeAll(async () => {
      const db = kind === 'postgres' ? await freshPostgresDatabase() : undefined
      drop = db?.drop
      ;({ rt, lines } = await runtimeWithLog({ database: { url: db?.url, dataDir: 'memory://', slowQuery: 0 } }))
    }, HOOK_TIMEOUT)
    afterAll(async () => {
      await rt?.stop()
      await drop?.()
    }, HOOK_TIMEOUT)

    test('threshold 0 logs each statement with its SQL, request id and route, and never its parameters', async () => {
      const email = `slow${crypto.randomUUID().slice(0, 8)}@example.com`
      const password = 'a password that must never be logged'
      lines.length = 0
      const res = await request(rt, '/v1/auth/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'slow-log-test-1' },
        body: JSON.stringify({ email, password }),
      })
      expect(res.status).toBe(201)
      const slow = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'slow query')
      const insert = slow.find((l) => /^insert into "users"/i.test(l.sql))
      expect(insert).toBeDefined()
      expect(insert).toMatchObject({ reqId: 'slow-log-test-1', route: '/v1/auth/register' })
      expect(typeof insert.ms).toBe('number')
      expect(insert.sql).toContain('$1')
      const text = lines.join('\n')
      const result = await rt.slots.dbRouter.write().execute(sql`select password_hash from users where email = ${email}`)
      const rows = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as { password_hash: string }[]
      expect(rows[0]!.password_hash).toStartWith('$argon2')
      expect(text).not.toContain(rows[0]!.password_hash)
      expect(text).not.toContain(email)
      expect(text).not.toContain(password)
    })
  })
}
