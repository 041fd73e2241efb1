/**
 * Two runtime processes (config/examples/cluster.ts, cache plugin included) on one PostgreSQL
 * database and one Redis: 200 rounds of "write on A, read on B" with B holding the entry in
 * its L1 before each write: 0 stale reads of the list, a conversation, its messages and
 * /v1/me after a tier change, and the ETag moves on both instances.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { API_READY, call, type Proc, spawnUntil } from '../../helpers/remote.ts'
import { HOOK_TIMEOUT } from '../../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { uniquePrefix, useSharedRedis } from '../../redis/redis.ts'

const CONFIG = resolve(import.meta.dir, 'fixtures/cluster.ts')
const ROOT = resolve(import.meta.dir, '../../..')
const prefix = uniquePrefix('cache-processes')
const missing = (await postgresMissing()) ?? (await redisMissing())

/** GET with the token; the ETag and the body. */
async function read(base: string, path: string, token: string) {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  expect(r.status).toBe(200)
  return { etag: r.headers.get('etag')!, body: (await r.json()) as any }
}

describeWith('cache across two runtime processes [postgres, redis]', missing, () => {
  let a: Proc
  let b: Proc
  let env: Record<string, string>
  let drop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    const db = await freshPostgresDatabase()
    drop = db.drop
    env = { DATABASE_URL: db.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, JWT_SECRET: 'cache-processes-test-secret-0123456789abcdef' }
    a = await spawnUntil('core/main.ts', { ...env, SCALE_CONFIG: CONFIG, PORT: '0' }, API_READY) // A migrates first
    b = await spawnUntil('core/main.ts', { ...env, SCALE_CONFIG: CONFIG, PORT: '0' }, API_READY)
  }, 2 * HOOK_TIMEOUT)

  afterAll(async () => {
    for (const i of [a, b]) {
      i?.proc.kill('SIGTERM')
      await i?.proc.exited
    }
    await drop?.()
  }, HOOK_TIMEOUT)
  // After the instances' hooks: their keys are dropped once they stopped.
  useSharedRedis(prefix)

  test('both report a healthy cache check', async () => {
    for (const i of [a, b]) expect((await call(i.base, 'GET', '/health/ready')).body.checks.cache).toBe('ok')
  })

  test('200 rounds of write on A, read on B: 0 stale reads, and the ETag moves on both', async () => {
    const email = `c${crypto.randomUUID().slice(0, 8)}@example.com`
    const reg = await call(a.base, 'POST', '/v1/auth/register', { email, password: 'correct horse battery' })
    const token = reg.body.token as string
    let conv = (await call(a.base, 'POST', '/v1/conversations', { title: 't0' }, token)).body.id as string
    let stale = 0
    let sent = 0
    let sameEtag = 0
    let created = 1
    for (let round = 0; round < 200; round++) {
      const kind = round % 3
      if (kind === 2 && ++sent % 40 === 0) {
        // 40 turns are 80 messages: a new conversation keeps the newest within one page of 100.
        conv = (await call(a.base, 'POST', '/v1/conversations', { title: `t${round}` }, token)).body.id as string
        created++
      }
      const path =
        kind === 0
          ? '/v1/conversations?limit=100'
          : kind === 1
            ? `/v1/conversations/${conv}`
            : `/v1/conversations/${conv}/messages?limit=100`
      // B (and A) hold the entry before the write: twice, so the second is served from L1.
      await read(b.base, path, token)
      const beforeB = await read(b.base, path, token)
      const beforeA = await read(a.base, path, token)
      let fresh: (body: any) => boolean
      if (kind === 0) {
        const title = `new ${round}`
        expect((await call(a.base, 'POST', '/v1/conversations', { title }, token)).status).toBe(201)
        created++
        fresh = (body) => body.items.length === created && body.items[0].title === title
      } else if (kind === 1) {
        const title = `t${round}`
        expect((await call(a.base, 'PATCH', `/v1/conversations/${conv}`, { title }, token)).status).toBe(200)
        fresh = (body) => body.title === title
      } else {
        const content = `m${round}`
        const sent = await call(a.base, 'POST', `/v1/conversations/${conv}/messages`, { content }, token)
        expect(sent.status).toBe(202)
        fresh = (body) => body.items.some((m: { content: string }) => m.content === content)
        // The reply runs on A; wait for it, so the next send is not a 409.
        for (let i = 0; i < 200; i++) {
          if ((await call(a.base, 'GET', `/v1/jobs/${sent.body.job.id}`, undefined, token)).body.status === 'done') break
          await Bun.sleep(20)
        }
      }
      const afterB = await read(b.base, path, token)
      const afterA = await read(a.base, path, token)
      if (!fresh(afterB.body)) stale++
      if (afterB.etag === beforeB.etag || afterA.etag === beforeA.etag) sameEtag++
    }
    expect(stale).toBe(0)
    expect(sameEtag).toBe(0)
  }, 300_000)

  test('/v1/me after a tier change by the operator (npm run cli -- set-tier): fresh on both at once', async () => {
    const email = `t${crypto.randomUUID().slice(0, 8)}@example.com`
    const token = (await call(a.base, 'POST', '/v1/auth/register', { email, password: 'correct horse battery' })).body.token as string
    for (const tier of ['paid', 'free', 'paid']) {
      const before = await Promise.all([read(a.base, '/v1/me', token), read(b.base, '/v1/me', token), read(b.base, '/v1/me', token)])
      const cli = Bun.spawn([process.execPath, 'core/cli.ts', 'set-tier', email, tier], {
        cwd: ROOT,
        env: { ...process.env, ...env, SCALE_CONFIG: CONFIG },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      expect(await cli.exited).toBe(0)
      for (const i of [a, b]) {
        const after = await read(i.base, '/v1/me', token)
        expect(after.body.tier).toBe(tier)
        expect(after.etag).not.toBe(before[0].etag)
      }
    }
  }, 120_000)
})
