/**
 * `npm run cli -- doctor`: on the embedded default (nothing to size), on a healthy cluster
 * config (exit 0, processes from the live heartbeats) and on one that oversubscribes the
 * server (exit 1, the problem named); and the plan's rules on their own.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { resolveConfig } from '../../core/config/load.ts'
import { buildReport, type DoctorInput } from '../../core/doctor/plan.ts'
import { beat, heartbeatKeys } from '../../core/redis/heartbeat.ts'
import { HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing, REDIS_URL, redisMissing } from '../helpers/services.ts'
import { uniquePrefix, useSharedRedis } from '../redis/redis.ts'

const ROOT = resolve(import.meta.dir, '../..')
const fixture = (name: string) => resolve(import.meta.dir, `fixtures/${name}.ts`)

async function doctor(env: Record<string, string>, json = true) {
  const proc = Bun.spawn([process.execPath, 'core/cli.ts', 'doctor', ...(json ? ['--json'] : [])], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  return { out, err, code }
}

test('on the embedded default it says there is nothing to size, and exits 0', async () => {
  const text = await doctor({ SCALE_CONFIG: fixture('embedded') }, false)
  expect(text.code).toBe(0)
  expect(text.out).toContain('nothing to size')
  const json = await doctor({ SCALE_CONFIG: fixture('embedded') })
  expect(json.code).toBe(0)
  expect(JSON.parse(json.out)).toMatchObject({ database: 'embedded', nothingToSize: true, problems: [] })
}, 60_000)

const missing = (await postgresMissing()) ?? (await redisMissing())

describeWith('doctor on a cluster config [postgres, redis]', missing, () => {
  let db: { url: string; drop(): Promise<void> }
  const prefix = uniquePrefix('doctor')
  let env: Record<string, string>
  beforeAll(async () => {
    db = await freshPostgresDatabase()
    env = {
      SCALE_CONFIG: fixture('cluster'),
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: 'doctor-test-secret-0123456789abcdef0123',
    }
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await db?.drop()
  }, HOOK_TIMEOUT)
  const shared = useSharedRedis(prefix)

  test('a healthy config: the plan counts the live processes from their heartbeats, and exit 0', async () => {
    const keys = heartbeatKeys(prefix, new URL(db.url).host)
    for (const [i, role] of (['api', 'api', 'worker'] as const).entries()) {
      await beat(shared.redis, keys, `${role}-${i}`, 60_000, { role, host: 'test', pid: i, limits: { primary: 10 } })
    }
    const r = await doctor({ ...env, DOCTOR_TUNER: '1' })
    expect(r.err).toBe('')
    const report = JSON.parse(r.out)
    expect(report.processes).toEqual({ api: 2, workers: 1, source: 'heartbeats' })
    expect(report.connections.sizedBy).toBe('pool-tuner')
    expect(report.connections.maxConnections).toBeGreaterThan(0)
    expect(report.connections.total).toBeLessThanOrEqual(report.connections.budget)
    // ratelimit-redis on every group; the cache plugin's shared layer on api and sync reads;
    // session-redis and llm-queue on chat.
    expect(report.roundTrips).toEqual({ anonymous: 1, api: 2, sync: 2, chat: 4 })
    expect(report.redis.maxClients).toBeGreaterThan(0)
    expect(report.problems.filter((p: { severity: string }) => p.severity === 'error')).toEqual([])
    expect(r.code).toBe(0)
  }, 60_000)

  test('an oversubscribed config (4 processes × 40 connections against the server): exit 1, the problem named', async () => {
    const r = await doctor({ ...env, REDIS_KEY_PREFIX: `${prefix}none:`, SCALE_INSTANCES: '3', DOCTOR_POOL_MAX: '40' }, false)
    expect(r.code).toBe(1)
    expect(r.out).toContain('ERROR POOL_OVER_MAX_CONNECTIONS')
    expect(r.out).toContain('40 connections × 4 processes = 160')
  }, 60_000)
})

describe('doctor plan rules', () => {
  const base = (over: Partial<DoctorInput> = {}): DoctorInput => ({
    config: resolveConfig({ instances: 2, allowInMemory: ['cache'], database: { url: 'postgres://db:5432/app', pool: { max: 20 } } }),
    plugins: [
      { name: 'session-redis', provides: ['session'] },
      { name: 'ratelimit-redis', provides: ['rateLimit'] },
      { name: 'llm-queue', provides: ['llmDispatch'], options: { quota: { requestsPerMinute: 50, tokensPerMinute: 2000 } } },
    ],
    postgres: { maxConnections: 100, reserved: 3, current: 10, readsPerWrite: 50 },
    redis: { live: [], maxClients: 10000, connectedClients: 5, usedMemory: 1, maxMemory: 1 << 30, policy: 'noeviction' },
    ...over,
  })
  const codes = (input: DoctorInput) => buildReport(input).problems.map((p) => `${p.severity} ${p.code}`)

  test('a quota below what the tiers promise is named; a reply bigger than the token quota is an error', () => {
    expect(codes(base())).toContain('error QUOTA_BELOW_TIER') // paid maxTokens 4096 > 2000 tokens/min
    expect(codes(base())).toContain('warning QUOTA_BELOW_TIER') // paid 100 chats/min > 50 requests/min
  })

  test('a process-local slot with several instances: a warning when allowed, an error when not', () => {
    expect(codes(base())).toContain('warning PROCESS_LOCAL_SLOT')
    const strict = base({ config: resolveConfig({ instances: 2, database: { url: 'postgres://db:5432/app' } }) })
    expect(codes(strict)).toContain('error PROCESS_LOCAL_SLOT')
  })

  test('heavy reads on the primary with several instances and no replica-router', () => {
    expect(codes(base())).toContain('warning NO_REPLICA')
    expect(codes(base({ plugins: [...base().plugins, { name: 'replica-router', provides: ['dbRouter'] }] }))).not.toContain(
      'warning NO_REPLICA',
    )
  })

  test('pool-tuner with a floor the budget cannot hold; Redis evicting BullMQ keys', () => {
    const tight = base({
      plugins: [...base().plugins, { name: 'pool-tuner', provides: ['dbPool'], options: { min: 10, headroom: 5 } }],
      postgres: { maxConnections: 30, reserved: 3, current: 1 },
      redis: { live: [], maxClients: 10000, connectedClients: 5, usedMemory: 1, maxMemory: 1 << 30, policy: 'allkeys-lru' },
    })
    expect(codes(tight)).toContain('error POOL_MIN_OVER_BUDGET') // 10 × 3 processes > 22
    expect(codes(tight)).toContain('error REDIS_EVICTION')
  })
})
