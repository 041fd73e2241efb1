/**
 * Real services for tests. A test that needs PostgreSQL or Redis asks here: when the
 * service is down it is skipped with the reason printed, except under CI=true, where the
 * same absence is a failure.
 */
import { describe, test } from 'bun:test'
import postgres from 'postgres'

export const CI = process.env.CI === 'true'
export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

async function probePostgres(): Promise<string | undefined> {
  const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    await sql`select 1`
    return undefined
  } catch (e) {
    return `PostgreSQL at ${POSTGRES_URL} is not reachable (${(e as Error).message})`
  } finally {
    await sql.end({ timeout: 1 })
  }
}

let postgresProbe: Promise<string | undefined> | undefined
/** Why PostgreSQL can't be used, or undefined when it can. */
export const postgresMissing = () => (postgresProbe ??= probePostgres())

async function probeRedis(): Promise<string | undefined> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
    return undefined
  } catch (e) {
    return `Redis at ${REDIS_URL} is not reachable (${(e as Error).message})`
  } finally {
    redis.disconnect()
  }
}

let redisProbe: Promise<string | undefined> | undefined
/** Why Redis can't be used, or undefined when it can. */
export const redisMissing = () => (redisProbe ??= probeRedis())

/**
 * `describe` that needs a service: runs when `missing` is undefined; otherwise skips with the
 * reason printed, or, under CI, registers one failing test that carries the reason.
 */
export function describeWith(name: string, missing: string | undefined, fn: () => void): void {
  if (!missing) return describe(name, fn)
  if (CI) {
    describe(name, () => {
      test('required service is available', () => {
        throw new Error(`${missing}; CI=true requires it`)
      })
    })
    return
  }
  console.warn(`skipping "${name}": ${missing}`)
  describe.skip(name, fn)
}

/** A fresh PostgreSQL database for one test file, dropped by `drop()`. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `scale_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} })
      await a.unsafe(`drop database if exists ${name} with (force)`)
      await a.end()
    },
  }
}
