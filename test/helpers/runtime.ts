/**
 * Runtimes for tests, on the embedded database or on a fresh PostgreSQL database, with a
 * small client for `app.handle(new Request(...))`.
 */
import { afterAll, beforeAll } from 'bun:test'
import { createRuntime, type Runtime } from '../../core/app.ts'
import type { ScaleConfig } from '../../core/config/define.ts'
import { resolveConfig } from '../../core/config/load.ts'
import { createLogger, type Logger } from '../../core/observability/logger.ts'
import { type AnthropicStub, startAnthropicStub, type StubBehaviour } from './anthropic-stub.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from './services.ts'

// `describe` bodies are synchronous, so the probe runs once at import (top-level await).
const postgresReason = await postgresMissing()

/** Starting PGlite or creating a database takes seconds on a busy machine. */
export const HOOK_TIMEOUT = 60_000

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123'

export type DatabaseKind = 'pglite' | 'postgres'

/** Start a runtime with `overrides` on top of a quiet test config. */
export async function startRuntime(overrides: ScaleConfig = {}, env: Record<string, string> = {}, logger?: Logger): Promise<Runtime> {
  const config = resolveConfig(
    {
      database: { dataDir: 'memory://' },
      auth: { jwtSecret: TEST_SECRET },
      logging: { level: 'silent' },
      server: { port: 0, hostname: '127.0.0.1' },
      ...overrides,
    },
    env,
  )
  return createRuntime(config, { logger: logger ?? createLogger(config.logging.level) })
}

/**
 * A runtime on a real port (started in beforeAll, stopped in afterAll) whose replies come from
 * a local Anthropic stub answering each request with `fallback(body)`: for replies the fake
 * provider cannot give (megabytes, or a chosen text per message).
 */
export function stubbedRuntime(fallback: (body: any) => StubBehaviour, overrides: ScaleConfig = {}) {
  const h = { port: 0, rt: undefined as unknown as Runtime, stub: undefined as unknown as AnthropicStub }
  beforeAll(async () => {
    h.stub = await startAnthropicStub({ fallback })
    h.rt = await startRuntime({
      ...overrides,
      llm: { ...overrides.llm, provider: 'anthropic', apiKey: 'stub-key', baseURL: h.stub.url, maxRetries: 0 },
    })
    h.port = (await h.rt.listen()).port
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await h.rt?.stop()
    await h.stub?.stop()
  }, HOOK_TIMEOUT)
  return h
}

/**
 * Run `fn` once per database kind, each inside its own describe block. `get()` returns the
 * block's runtime (started in beforeAll, stopped in afterAll); `logger` gives each its logger.
 */
export function describeEachDatabase(
  name: string,
  fn: (get: () => Runtime, kind: DatabaseKind) => void,
  overrides: ScaleConfig = {},
  logger?: (kind: DatabaseKind) => Logger,
) {
  for (const kind of ['pglite', 'postgres'] as const) {
    const missing = kind === 'postgres' ? postgresReason : undefined
    describeWith(`${name} [${kind}]`, missing, () => {
      let rt: Runtime
      let drop: (() => Promise<void>) | undefined
      beforeAll(async () => {
        if (kind === 'postgres') {
          const db = await freshPostgresDatabase()
          drop = db.drop
          rt = await startRuntime({ ...overrides, database: { ...overrides.database, url: db.url } }, {}, logger?.(kind))
        } else {
          rt = await startRuntime(overrides, {}, logger?.(kind))
        }
      }, HOOK_TIMEOUT)
      afterAll(async () => {
        await rt?.stop()
        await drop?.()
      }, HOOK_TIMEOUT)
      fn(() => rt, kind)
    })
  }
}

export interface Reply<T = any> {
  status: number
  headers: Headers
  body: T
}

/**
 * A tiny client: in-process requests (`app.handle`) for a Runtime, real HTTP for a base URL
 * (`http://127.0.0.1:<port>`: another process, another runtime).
 */
export function client(rt: () => Runtime | string) {
  async function call<T = any>(
    method: string,
    path: string,
    opts: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`
    let body: string | undefined = opts.raw
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body)
      headers['content-type'] ??= 'application/json'
    }
    const target = rt()
    const res =
      typeof target === 'string'
        ? await fetch(`${target}${path}`, { method, headers, body })
        : await target.app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed as T }
  }
  return {
    call,
    get: <T = any>(path: string, token?: string) => call<T>('GET', path, { token }),
    post: <T = any>(path: string, body?: unknown, token?: string) => call<T>('POST', path, { body, token }),
    patch: <T = any>(path: string, body?: unknown, token?: string) => call<T>('PATCH', path, { body, token }),
    del: <T = any>(path: string, token?: string) => call<T>('DELETE', path, { token }),
    /** Register a fresh user; returns its token and id. */
    async user(email = `u${crypto.randomUUID().slice(0, 8)}@example.com`, password = 'correct horse battery') {
      const r = await call('POST', '/v1/auth/register', { body: { email, password } })
      if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`)
      return { token: r.body.token as string, id: r.body.user.id as string, email }
    },
  }
}
