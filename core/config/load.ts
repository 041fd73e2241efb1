/**
 * Reads the config: the file (`config/scale.ts`, or `SCALE_CONFIG`), the environment
 * overlay, validation, defaults. A wrong value stops start-up with `CONFIG_INVALID`.
 */
import { isAbsolute, resolve } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { parseDuration } from '../duration.ts'
import { ScaleError, isScaleError, quote } from '../errors.ts'
import { CACHE_KINDS, DEFAULT_CACHE_TTL_MS, DEFAULT_TIERS, type CacheKind, type ResolvedConfig } from './resolved.ts'
import type { ScaleConfig } from './define.ts'
import { ConfigSchema } from './schema.ts'

type Env = Record<string, string | undefined>

/** The config file to read: `SCALE_CONFIG` when set, else `config/scale.ts` under `cwd`. */
export function configPath(env: Env = process.env, cwd = process.cwd()): string {
  const p = env.SCALE_CONFIG || 'config/scale.ts'
  return isAbsolute(p) ? p : resolve(cwd, p)
}

/** Import a config file and resolve it against the environment. */
export async function loadConfig(env: Env = process.env, path = configPath(env)): Promise<ResolvedConfig> {
  let mod: { default?: ScaleConfig }
  try {
    mod = await import(path)
  } catch (cause) {
    // A coded error raised while the file ran (a plugin factory refusing its options) is the answer.
    if (isScaleError(cause)) throw cause
    throw new ScaleError(
      'CONFIG_NOT_FOUND',
      `could not load config ${quote(path)}: ${(cause as Error).message}; set SCALE_CONFIG to a config file that default-exports defineScale({...})`,
      { cause },
    )
  }
  if (!mod.default || typeof mod.default !== 'object') {
    throw new ScaleError('CONFIG_INVALID', `config ${quote(path)} has no default export; write \`export default defineScale({...})\``)
  }
  return resolveConfig(mod.default, env)
}

const int = (name: string, v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n)) throw new ScaleError('CONFIG_INVALID', `environment variable ${name} is ${quote(v)}; expected an integer`)
  return n
}

/** Environment variables that overlay the file, applied before validation. */
function overlay(c: ScaleConfig, env: Env): ScaleConfig {
  const out = structuredClone({ ...c, plugins: undefined }) as ScaleConfig
  out.plugins = c.plugins
  const set = <K extends keyof ScaleConfig>(k: K, patch: object) => {
    out[k] = { ...(out[k] as object), ...patch } as ScaleConfig[K]
  }
  if (env.PORT) set('server', { port: int('PORT', env.PORT) })
  if (env.HOST) set('server', { hostname: env.HOST })
  if (env.DATABASE_URL) set('database', { url: env.DATABASE_URL })
  if (env.DATA_DIR) set('database', { dataDir: env.DATA_DIR })
  if (env.MIGRATE_ON_START) set('database', { migrate: env.MIGRATE_ON_START !== 'false' })
  if (env.REDIS_URL) set('redis', { url: env.REDIS_URL })
  if (env.REDIS_KEY_PREFIX) set('redis', { keyPrefix: env.REDIS_KEY_PREFIX })
  if (env.JWT_SECRET) set('auth', { jwtSecret: env.JWT_SECRET })
  if (env.ANTHROPIC_API_KEY) set('llm', { apiKey: env.ANTHROPIC_API_KEY })
  if (env.ANTHROPIC_BASE_URL) set('llm', { baseURL: env.ANTHROPIC_BASE_URL })
  if (env.LLM_PROVIDER) set('llm', { provider: env.LLM_PROVIDER as 'fake' })
  if (env.LLM_MODEL) set('llm', { model: env.LLM_MODEL })
  if (env.LOG_LEVEL) set('logging', { level: env.LOG_LEVEL as 'info' })
  if (env.SCALE_INSTANCES) out.instances = int('SCALE_INSTANCES', env.SCALE_INSTANCES)
  return out
}

/** Validate a config object (after the environment overlay) and fill in every default. */
export function resolveConfig(input: ScaleConfig, env: Env = {}): ResolvedConfig {
  const c = overlay(input, env)
  const error = Value.Errors(ConfigSchema, c).First()
  if (error) {
    const where = error.path.replace(/^\//, '').replaceAll('/', '.') || '(root)'
    const valid = error.schema.description ?? error.message
    const what = error.value === undefined ? 'missing' : `${quote(error.value)}`
    throw new ScaleError('CONFIG_INVALID', `config ${where} is ${what}; expected ${valid}`)
  }
  if (c.plugins !== undefined && !Array.isArray(c.plugins)) {
    throw new ScaleError('CONFIG_INVALID', `config plugins is ${quote(c.plugins)}; expected a list`)
  }
  const d = (v: unknown, dflt: number) => (v === undefined ? dflt : (parseDuration(v) as number))
  const llm = c.llm ?? {}
  const provider = llm.provider ?? (llm.apiKey ? 'anthropic' : 'fake')
  if (provider === 'anthropic' && !llm.apiKey) {
    throw new ScaleError(
      'CONFIG_INVALID',
      'config llm.provider is "anthropic" but no API key is set; set ANTHROPIC_API_KEY or llm.apiKey, or use provider \'fake\'',
    )
  }
  return {
    instances: c.instances ?? 1,
    allowInMemory: c.allowInMemory ?? [],
    server: {
      port: c.server?.port ?? 3000,
      hostname: c.server?.hostname ?? '0.0.0.0',
      bodyLimit: c.server?.bodyLimit ?? 1024 * 1024,
      trustedProxyHops: c.server?.trustedProxyHops ?? 0,
      shutdownTimeoutMs: d(c.server?.shutdownTimeout, 10_000),
      drainDelayMs: d(c.server?.drainDelay, 0),
      allowedOrigins: c.server?.allowedOrigins ?? ['*'],
    },
    database: {
      url: c.database?.url,
      dataDir: c.database?.dataDir ?? './data',
      migrate: c.database?.migrate ?? true,
      statementTimeoutMs: d(c.database?.statementTimeout, 30_000),
      pooler: c.database?.pooler ?? 'none',
      pool: {
        max: c.database?.pool?.max ?? 10,
        pipeline: c.database?.pool?.pipeline ?? 4,
        acquireTimeoutMs: d(c.database?.pool?.acquireTimeout, 5_000),
        slowQueryMs: d(c.database?.slowQuery ?? c.database?.pool?.slowQuery, 100),
        idleTimeoutMs: d(c.database?.pool?.idleTimeout, 60_000),
        maxLifetimeMs: d(c.database?.pool?.maxLifetime, 3_600_000),
      },
    },
    redis: { url: c.redis?.url, keyPrefix: c.redis?.keyPrefix ?? 'scale:', commandTimeoutMs: d(c.redis?.commandTimeout, 500) },
    cache: {
      ttlMs: perKind((k) => d(c.cache?.ttl?.[k], DEFAULT_CACHE_TTL_MS[k])),
      staleMs: perKind((k) => d(c.cache?.staleFor?.[k], 0)),
    },
    auth: {
      jwtSecret: c.auth?.jwtSecret,
      issuer: c.auth?.issuer ?? 'scale-runtime',
      audience: c.auth?.audience ?? 'scale-runtime-api',
      tokenTtlMs: d(c.auth?.tokenTtl, 3_600_000),
      tokenCacheSize: c.auth?.tokenCacheSize ?? 10_000,
      revocationCheckMs: d(c.auth?.revocationCheck, 5_000),
    },
    llm: {
      provider,
      apiKey: llm.apiKey,
      baseURL: llm.baseURL,
      model: llm.model ?? 'claude-sonnet-4-6',
      timeoutMs: d(llm.timeout, 60_000),
      maxRetries: llm.maxRetries ?? 2,
      fakeTokenDelayMs: d(llm.fakeTokenDelay, 20),
      concurrency: llm.concurrency ?? 32,
      maxQueued: llm.maxQueued ?? 1000,
      eventRetentionMs: d(llm.eventRetention, 600_000),
      system: llm.system,
      bufferTurns: llm.bufferTurns ?? 20,
    },
    websocket: {
      idleTimeoutMs: d(c.websocket?.idleTimeout, 60_000),
      maxFrameBytes: c.websocket?.maxFrameBytes ?? 64 * 1024,
      maxBufferedBytes: c.websocket?.maxBufferedBytes ?? 1024 * 1024,
      slowClientTimeoutMs: d(c.websocket?.slowClientTimeout, 30_000),
    },
    tiers: {
      free: { ...DEFAULT_TIERS.free, ...c.tiers?.free },
      paid: { ...DEFAULT_TIERS.paid, ...c.tiers?.paid },
    },
    anonymous: { requestsPerMinute: c.anonymous?.requestsPerMinute ?? 60 },
    logging: { level: c.logging?.level ?? 'info', requests: c.logging?.requests ?? true },
    metrics: { enabled: c.metrics?.enabled ?? true },
    console: { enabled: c.console?.enabled ?? (c.instances ?? 1) <= 1 },
    plugins: c.plugins ?? [],
  }
}

/** A record with one value per cached-read kind. */
const perKind = (value: (kind: CacheKind) => number): Record<CacheKind, number> =>
  Object.fromEntries(CACHE_KINDS.map((k) => [k, value(k)])) as Record<CacheKind, number>
