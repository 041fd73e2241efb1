import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DEFAULT_TIERS } from '../../core/config/resolved.ts'
import { loadConfig, resolveConfig } from '../../core/config/load.ts'
import { ScaleError } from '../../core/errors.ts'

function configError(fn: () => unknown): ScaleError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ScaleError)
    return e as ScaleError
  }
  throw new Error('expected a config error')
}

describe('config', () => {
  test('an empty config gets every default', () => {
    const c = resolveConfig({})
    expect(c.instances).toBe(1)
    expect(c.server).toMatchObject({ port: 3000, bodyLimit: 1048576, trustedProxyHops: 0 })
    expect(c.database).toMatchObject({ url: undefined, dataDir: './data', migrate: true })
    expect(c.llm.provider).toBe('fake')
    expect(c.tiers).toEqual(DEFAULT_TIERS)
    expect(c.tiers.free.chatPerMinute).toBe(20)
    expect(c.tiers.paid.chatPerMinute).toBe(100)
  })

  test('the environment overlays the file', () => {
    const c = resolveConfig(
      { server: { port: 3000 }, database: { dataDir: './x' } },
      {
        PORT: '4001',
        DATABASE_URL: 'postgres://db/app',
        REDIS_URL: 'redis://cache:6379',
        ANTHROPIC_API_KEY: 'sk-test',
        JWT_SECRET: 'x'.repeat(40),
        SCALE_INSTANCES: '2',
      },
    )
    expect(c.server.port).toBe(4001)
    expect(c.database.url).toBe('postgres://db/app')
    expect(c.database.dataDir).toBe('./x')
    expect(c.redis.url).toBe('redis://cache:6379')
    expect(c.llm).toMatchObject({ provider: 'anthropic', apiKey: 'sk-test' })
    expect(c.instances).toBe(2)
  })

  test('durations are parsed once into milliseconds', () => {
    const c = resolveConfig({ server: { shutdownTimeout: '30 s' }, auth: { tokenTtl: '2h' }, llm: { fakeTokenDelay: 0 } })
    expect(c.server.shutdownTimeoutMs).toBe(30_000)
    expect(c.auth.tokenTtlMs).toBe(7_200_000)
    expect(c.llm.fakeTokenDelayMs).toBe(0)
  })

  test.each([
    [{ server: { port: 70000 } }, {}, 'server.port', '70000', 'a TCP port from 0 to 65535'],
    [{}, { PORT: 'eighty' }, 'PORT', '"eighty"', 'an integer'],
    [
      { tiers: { ...DEFAULT_TIERS, free: { ...DEFAULT_TIERS.free, chatPerMinute: 0 } } },
      {},
      'tiers.free.chatPerMinute',
      '0',
      'an integer from 1',
    ],
    [{ server: { shutdownTimeout: 'soon' } }, {}, 'server.shutdownTimeout', '"soon"', "a duration such as '250 ms'"],
    [{ database: { url: 'mysql://x' } }, {}, 'database.url', '"mysql://x"', 'a postgres:// or postgresql:// URL'],
    [{ auth: { jwtSecret: 'short' } }, {}, 'auth.jwtSecret', '"short"', 'at least 32 characters'],
    [{ llm: { provider: 'openai' } }, {}, 'llm.provider', '"openai"', "'anthropic' or 'fake'"],
    [{ cache: { ttl: { conversations: 'a while' } } }, {}, 'cache.ttl.conversations', '"a while"', "a duration such as '250 ms'"],
  ] as const)('a wrong value stops start-up with CONFIG_INVALID quoting it (%#)', (input, env, where, value, valid) => {
    const e = configError(() => resolveConfig(input as never, env as never))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain(where)
    expect(e.message).toContain(value)
    expect(e.message).toContain(valid)
  })

  test('cache.ttl and cache.staleFor: documented defaults per kind, overrides parsed once, unknown kinds refused', () => {
    expect(resolveConfig({}).cache).toEqual({
      ttlMs: { user: 60_000, conversations: 120_000, conversation: 60_000, messages: 60_000 },
      staleMs: { user: 0, conversations: 0, conversation: 0, messages: 0 },
    })
    const c = resolveConfig({ cache: { ttl: { user: '5 m', messages: 0 }, staleFor: { conversations: '30 s' } } })
    expect(c.cache.ttlMs).toEqual({ user: 300_000, conversations: 120_000, conversation: 60_000, messages: 0 })
    expect(c.cache.staleMs.conversations).toBe(30_000)
    expect(configError(() => resolveConfig({ cache: { ttl: { profile: '1 m' } } } as never)).message).toContain('profile')
  })

  test('an unknown key is refused rather than ignored', () => {
    const e = configError(() => resolveConfig({ server: { prot: 3000 } } as never))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('prot')
  })

  test("provider 'anthropic' without a key is refused with what to set", () => {
    const e = configError(() => resolveConfig({ llm: { provider: 'anthropic' } }))
    expect(e.message).toContain('ANTHROPIC_API_KEY')
  })

  test('SCALE_CONFIG selects another config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scale-config-'))
    try {
      const file = join(dir, 'staging.ts')
      writeFileSync(file, `export default { server: { port: 4321 }, anonymous: { requestsPerMinute: 7 } }\n`)
      const c = await loadConfig({ SCALE_CONFIG: file })
      expect(c.server.port).toBe(4321)
      expect(c.anonymous.requestsPerMinute).toBe(7)
      await expect(loadConfig({ SCALE_CONFIG: join(dir, 'missing.ts') })).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the shipped config/scale.ts is valid', async () => {
    const c = await loadConfig({}, resolve(import.meta.dir, '../../config/scale.ts'))
    expect(c.instances).toBe(1)
  })
})
