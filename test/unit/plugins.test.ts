import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { createMemoryRateLimiter } from '../../core/defaults/memory-rate-limiter.ts'
import { resolveConfig } from '../../core/config/load.ts'
import type { ScaleConfig } from '../../core/config/define.ts'
import { checkManifests } from '../../core/plugins/check.ts'
import type { PluginManifest, ScalePlugin } from '../../core/plugins/contract.ts'
import { resolvePlugins } from '../../core/plugins/resolve.ts'
import type { RateLimiter } from '../../core/ports/rate-limiter.ts'
import { client, startRuntime } from '../helpers/runtime.ts'

const plugin = (manifest: Partial<PluginManifest> & { name: string }, extra: Partial<ScalePlugin> = {}): ScalePlugin => ({
  manifest: { core: '^0.1.0', ...manifest },
  setup: () => ({}),
  ...extra,
})

const check = (plugins: ScalePlugin[], config: ScaleConfig = {}) => {
  try {
    checkManifests(plugins, resolveConfig(config))
  } catch (e) {
    return e as { code: string; message: string }
  }
  return undefined
}

describe('manifest checks, before anything is wired', () => {
  test('two plugins for one slot', () => {
    const e = check([plugin({ name: 'a', provides: ['session'] }), plugin({ name: 'b', provides: ['session'] })])
    expect(e?.code).toBe('PLUGIN_SLOT_CONFLICT')
    expect(e?.message).toContain('"a" and "b" both provide the session slot')
  })

  test('the same plugin twice', () => {
    expect(check([plugin({ name: 'a' }), plugin({ name: 'a' })])?.code).toBe('PLUGIN_DUPLICATE')
  })

  test('a missing plugin or service requirement', () => {
    const needsPlugin = check([plugin({ name: 'a', requires: { plugins: ['session-redis'] } })])
    expect(needsPlugin?.code).toBe('PLUGIN_MISSING_REQUIREMENT')
    expect(needsPlugin?.message).toContain('add it to config.plugins')
    const needsRedis = check([plugin({ name: 'a', requires: { services: ['redis'] } })])
    expect(needsRedis?.code).toBe('PLUGIN_MISSING_REQUIREMENT')
    expect(needsRedis?.message).toContain('REDIS_URL')
    expect(check([plugin({ name: 'a', requires: { services: ['redis'] } })], { redis: { url: 'redis://127.0.0.1:6379' } })).toBeUndefined()
  })

  test('an incompatible or invalid core range', () => {
    const e = check([plugin({ name: 'future', core: '^2.0.0' })])
    expect(e?.code).toBe('PLUGIN_CORE_INCOMPATIBLE')
    expect(e?.message).toContain('^2.0.0')
    expect(check([plugin({ name: 'odd', core: 'banana' })])?.code).toBe('PLUGIN_INVALID')
  })

  test('an unknown slot name', () => {
    expect(check([plugin({ name: 'a', provides: ['sessions' as never] })])?.code).toBe('PLUGIN_INVALID')
  })

  test('3 instances on in-memory slots refuse to start, naming the plugins that fix it', () => {
    const e = check([], { instances: 3 })
    expect(e?.code).toBe('MULTI_INSTANCE_IN_MEMORY')
    for (const fix of ['session-redis', 'ratelimit-redis', 'cache', 'llm-queue', 'DATABASE_URL', 'JWT_SECRET'])
      expect(e?.message).toContain(fix)
  })

  test('with every process-local slot filled (or knowingly allowed), several instances start', () => {
    const shared: ScaleConfig = { instances: 3, database: { url: 'postgres://db/app' }, auth: { jwtSecret: 'x'.repeat(40) } }
    const filled = [plugin({ name: 's', provides: ['session', 'rateLimit'] }), plugin({ name: 'c', provides: ['cache', 'llmDispatch'] })]
    expect(check(filled, shared)).toBeUndefined()
    const partly = check([plugin({ name: 's', provides: ['session', 'rateLimit'] })], shared)
    expect(partly?.message).toContain('cache')
    expect(partly?.message).not.toContain('session-redis')
    expect(
      check([plugin({ name: 's', provides: ['session', 'rateLimit'] })], { ...shared, allowInMemory: ['cache', 'llmDispatch'] }),
    ).toBeUndefined()
  })
})

describe('plugin entries', () => {
  test('a plugin loads by npm package name, with options', async () => {
    const [p] = await resolvePlugins([['scale-plugin-audit-log', { path: '/dev/null' }]])
    expect(p!.manifest.name).toBe('audit-log')
  })

  test('an unknown package and an uncalled factory are coded errors', async () => {
    await expect(resolvePlugins(['scale-plugin-does-not-exist'])).rejects.toMatchObject({ code: 'PLUGIN_NOT_FOUND' })
    const factory = () => plugin({ name: 'x' })
    await expect(resolvePlugins([factory as never])).rejects.toMatchObject({ code: 'PLUGIN_INVALID' })
  })
})

describe('wiring plugins into a runtime', () => {
  test('a plugin fills a slot, adds an authenticated route, reports health, and is stopped once', async () => {
    let consumed = 0
    let stops = 0
    const inner = createMemoryRateLimiter()
    const counting: RateLimiter = { consume: (...a) => (consumed++, inner.consume(...a)), reset: (k) => inner.reset(k) }
    const custom: ScalePlugin = {
      manifest: { name: 'counting-limiter', core: '^0.1.0', provides: ['rateLimit'] },
      setup: () => ({
        slots: { rateLimit: counting },
        app: ({ guard }) =>
          new Elysia({ name: 'counting-routes' }).use(guard).get('/v1/hello', ({ user }) => ({ hello: user.userId }), { auth: 'api' }),
      }),
      health: () => ({ status: 'degraded', detail: 'just testing' }),
      stop: () => void stops++,
    }
    const rt = await startRuntime({ plugins: [custom] })
    const api = client(() => rt)
    const { token, id } = await api.user()
    const before = consumed
    const r = await api.get('/v1/hello', token)
    expect(r.body).toEqual({ hello: id })
    expect(consumed).toBe(before + 1)
    expect((await api.get('/v1/hello')).status).toBe(401)
    const ready = await api.get('/health/ready')
    expect(ready.body.checks['counting-limiter']).toBe('degraded: just testing')
    expect(ready.status).toBe(200)
    await rt.stop()
    await rt.stop()
    expect(stops).toBe(1)
  })

  test('a plugin returning a slot it did not declare is refused, and plugins set up before it are stopped', async () => {
    let stopped = false
    const first = plugin({ name: 'first' }, { stop: () => void (stopped = true) })
    const sneaky = plugin({ name: 'sneaky' }, { setup: () => ({ slots: { cache: {} as never } }) })
    await expect(startRuntime({ plugins: [first, sneaky] })).rejects.toMatchObject({ code: 'PLUGIN_INVALID' })
    expect(stopped).toBe(true)
  })

  test('a setup that throws is PLUGIN_SETUP_FAILED naming the plugin', async () => {
    const broken = plugin({ name: 'broken' }, { setup: () => Promise.reject(new Error('no connection')) })
    await expect(startRuntime({ plugins: [broken] })).rejects.toMatchObject({
      code: 'PLUGIN_SETUP_FAILED',
      message: expect.stringContaining('"broken"'),
    })
  })

  test('the example audit-log package, loaded by name, records state-changing requests', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.log')
    const rt = await startRuntime({ plugins: [['scale-plugin-audit-log', { path }]] })
    const api = client(() => rt)
    const { token, id } = await api.user()
    await api.post('/v1/conversations', { title: 'audited' }, token)
    await api.get('/v1/conversations', token)
    await Bun.sleep(20)
    await rt.stop()
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.method, l.route, l.status])).toEqual([
      ['POST', '/v1/auth/register', 201],
      ['POST', '/v1/conversations/', 201],
    ])
    expect(lines[1].userId).toBe(id)
  })
})
