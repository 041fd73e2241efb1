/**
 * Reads the config: the file (`config/scale.ts`, or `SCALE_CONFIG`), the environment
 * overlay, validation, defaults. A wrong value stops start-up with `CONFIG_INVALID`.
 */
import { isAbsolute, resolve } from 'node:path'
import { TypeGuard, type TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parseDuration } from '../duration.ts'
import { ScaleError, isScaleError, quote } from '../errors.ts'
import type { ScaleConfig } from './define.ts'
import { DEFAULT_TIERS, type ResolvedConfig, type SchemaResolved } from './resolved.ts'
import { CACHE_KINDS, ConfigSchema, DURATION, type CacheKind } from './schema.ts'

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
  const resolved = withDefaults(ConfigSchema, c) as SchemaResolved
  const { slowQueryMs, pool, ...database } = resolved.database
  return {
    ...resolved,
    // The older spelling database.pool.slowQuery counts when database.slowQuery is not set.
    database: {
      ...database,
      pool: { ...pool, slowQueryMs: c.database?.slowQuery === undefined ? (pool.slowQueryMs ?? slowQueryMs) : slowQueryMs },
    },
    cache: {
      ttlMs: perKind((k) => resolved.cache.ttl[`${k}Ms`]),
      staleMs: perKind((k) => resolved.cache.staleFor[`${k}Ms`]),
    },
    llm: withProvider(resolved.llm),
    tiers: {
      free: { ...DEFAULT_TIERS.free, ...c.tiers?.free },
      paid: { ...DEFAULT_TIERS.paid, ...c.tiers?.paid },
    },
    console: { enabled: c.console?.enabled ?? resolved.instances <= 1 },
    plugins: c.plugins ?? [],
  }
}

/**
 * Every key of an object schema: the input's value or the key's default (a copy), each
 * section even when left out, a duration in ms under `<key>Ms`.
 */
function withDefaults(schema: TObject, input: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(schema.properties)) {
    const value = input[name] ?? structuredClone(key.default)
    if (TypeGuard.IsObject(key)) out[name] = withDefaults(key, value as Record<string, unknown> | undefined)
    else if (!(DURATION in key)) out[name] = value
    else if (value !== undefined) out[`${name}Ms`] = parseDuration(value)
  }
  return out
}

/** The API-key rule, in one place: the provider is `anthropic` when asked for or when a key is set, and then needs the key. */
function withProvider(llm: SchemaResolved['llm']): ResolvedConfig['llm'] {
  const provider = llm.provider ?? (llm.apiKey ? 'anthropic' : 'fake')
  if (provider === 'fake') return { ...llm, provider }
  if (!llm.apiKey) {
    throw new ScaleError(
      'CONFIG_INVALID',
      'config llm.provider is "anthropic" but no API key is set; set ANTHROPIC_API_KEY or llm.apiKey, or use provider \'fake\'',
    )
  }
  return { ...llm, provider, apiKey: llm.apiKey }
}

/** A record with one value per cached-read kind. */
const perKind = (value: (kind: CacheKind) => number): Record<CacheKind, number> =>
  Object.fromEntries(CACHE_KINDS.map((k) => [k, value(k)])) as Record<CacheKind, number>
