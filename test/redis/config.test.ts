/** Config safety with the Redis plugins: the multi-instance check, config/examples/cluster.ts, start-up errors. */
import { describe, expect, test } from 'bun:test'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { loadConfig, resolveConfig } from '../../core/config/load.ts'
import type { ScaleConfig } from '../../core/config/define.ts'
import { checkManifests } from '../../core/plugins/check.ts'
import { resolvePlugins } from '../../core/plugins/resolve.ts'
import rateLimitRedis from '../../plugins/ratelimit-redis/index.ts'
import sessionRedis from '../../plugins/session-redis/index.ts'

const ROOT = resolve(import.meta.dir, '../..')
const CLUSTER = resolve(ROOT, 'config/examples/cluster.ts')
const shared = { DATABASE_URL: 'postgres://db.internal/app', REDIS_URL: 'redis://redis.internal:6379', JWT_SECRET: 'x'.repeat(40) }

async function check(config: ScaleConfig | string, env: Record<string, string> = {}) {
  try {
    const resolved = typeof config === 'string' ? await loadConfig(env, config) : resolveConfig(config, env)
    checkManifests(await resolvePlugins(resolved.plugins), resolved)
  } catch (e) {
    return e as { code: string; message: string }
  }
  return undefined
}

describe('multi-instance check with the Redis plugins', () => {
  const base: ScaleConfig = { instances: 2, allowInMemory: ['cache', 'llmDispatch'] }

  test('with session-redis and ratelimit-redis, two instances pass for these slots', async () => {
    expect(await check({ ...base, plugins: [sessionRedis(), rateLimitRedis()] }, shared)).toBeUndefined()
  })

  test('without them it still refuses, naming each plugin', async () => {
    const e = await check(base, shared)
    expect(e?.code).toBe('MULTI_INSTANCE_IN_MEMORY')
    expect(e?.message).toContain('session-redis')
    expect(e?.message).toContain('ratelimit-redis')
    const one = await check({ ...base, plugins: [sessionRedis()] }, shared)
    expect(one?.message).toContain('ratelimit-redis')
    expect(one?.message).not.toContain('session-redis')
  })

  test('the plugins require Redis: without REDIS_URL start-up says so', async () => {
    const { REDIS_URL: _, ...noRedis } = shared
    const e = await check({ ...base, plugins: [sessionRedis(), rateLimitRedis()] }, noRedis)
    expect(e?.code).toBe('PLUGIN_MISSING_REQUIREMENT')
    expect(e?.message).toContain('REDIS_URL')
  })
})

describe('config/examples/cluster.ts', () => {
  test('passes every start-up check with DATABASE_URL, REDIS_URL and JWT_SECRET', async () => {
    expect(await check(CLUSTER, shared)).toBeUndefined()
    const config = await loadConfig({ ...shared, SCALE_CONFIG: CLUSTER })
    expect(config.instances).toBe(2)
    expect(config.redis.url).toBe(shared.REDIS_URL)
  })

  test('refuses without JWT_SECRET or DATABASE_URL, saying which', async () => {
    const { JWT_SECRET: _, ...noSecret } = shared
    expect((await check(CLUSTER, noSecret))?.message).toContain('JWT_SECRET')
    const { DATABASE_URL: __, ...noDb } = shared
    expect((await check(CLUSTER, noDb))?.message).toContain('DATABASE_URL')
  })

  test('a Redis that does not answer stops start-up with a coded line naming it, not a hang', async () => {
    const port = await new Promise<number>((done) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port
        srv.close(() => done(p))
      })
    })
    const started = Date.now()
    const proc = Bun.spawn([process.execPath, 'core/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
        SCALE_CONFIG: resolve(import.meta.dir, 'fixtures/one-instance.ts'),
        PORT: '0',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(await proc.exited).toBe(1)
    expect(Date.now() - started).toBeLessThan(20_000)
    const err = await new Response(proc.stderr).text()
    expect(err).toContain('PLUGIN_MISSING_REQUIREMENT')
    expect(err).toContain(`127.0.0.1:${port}`)
    expect(err).not.toContain('hunter2')
    expect(err).not.toContain('    at ')
  }, 30_000)
})
