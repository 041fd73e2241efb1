/**
 * The core's Redis connections on Redis Cluster and Sentinel, each started privately for this
 * file: the backends pass their conformance suites on a 3-node cluster (so every script's
 * keys share a slot: a wrong hash tag would be a CROSSSLOT error), and a Sentinel URL finds
 * its master.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { createLogger } from '../../core/observability/logger.ts'
import { openRedis } from '../../core/redis/connect.ts'
import type { RedisConnections } from '../../core/types.ts'
import { createRedisRateLimiter } from '../../plugins/ratelimit-redis/index.ts'
import { createRedisSessionStore } from '../../plugins/session-redis/index.ts'
import { rateLimiterSuite, sessionStoreSuite } from 'scale-runtime/testing'
import { describeWith } from '../helpers/services.ts'
import { redisServerMissing } from './private-server.ts'

const quiet = () => ({ logger: createLogger('silent'), metrics: new Registry() })
const config = (url: string) => ({ url, keyPrefix: 'topology:', commandTimeoutMs: 2000 })

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((r) => {
          const s = createServer().listen(0, '127.0.0.1', () => r(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim()

async function until(what: string, ok: () => boolean, ms = 15_000) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (ok()) return
    await Bun.sleep(100)
  }
  throw new Error(`${what} did not happen within ${ms} ms`)
}

describeWith('Redis Cluster and Sentinel URLs [redis-server]', redisServerMissing(), () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-redis-topologies-'))
  const procs: ReturnType<typeof Bun.spawn>[] = []
  let clusterPorts: number[] = []
  let master = 0
  let sentinel = 0
  let cluster: RedisConnections
  const spawn = (args: string[]) => procs.push(Bun.spawn(['redis-server', ...args], { cwd: dir, stdout: 'ignore', stderr: 'ignore' }))

  beforeAll(async () => {
    ;[master, sentinel, ...clusterPorts] = await freePorts(5)
    for (const port of clusterPorts) {
      spawn([
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
      ])
    }
    spawn(['--port', String(master), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'])
    writeFileSync(join(dir, 'sentinel.conf'), `port ${sentinel}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${master} 1\n`)
    await until('the servers answering', () => [...clusterPorts, master].every((p) => cli(p, 'ping') === 'PONG'))
    spawn([join(dir, 'sentinel.conf'), '--sentinel'])
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...clusterPorts.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    )
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`)
    await until('the cluster being ok', () => clusterPorts.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok')))
    await until('the sentinel knowing its master', () =>
      cli(sentinel, 'sentinel', 'get-master-addr-by-name', 'mymaster').includes(String(master)),
    )
    cluster = await openRedis(config(`redis-cluster://127.0.0.1:${clusterPorts[0]},127.0.0.1:${clusterPorts[1]}`), quiet())
  }, 60_000)

  afterAll(async () => {
    await cluster?.close()
    for (const p of procs) p.kill('SIGKILL')
    await Promise.all(procs.map((p) => p.exited))
    rmSync(dir, { recursive: true, force: true })
  })

  rateLimiterSuite('redis on a 3-node cluster', () => createRedisRateLimiter({ redis: cluster.client, keyPrefix: 'topology:' }))
  sessionStoreSuite(
    'redis on a 3-node cluster',
    () => createRedisSessionStore({ redis: cluster.client, keyPrefix: 'topology:', ttlMs: 400 }),
    { ttlMs: 400 },
  )

  test('the cluster spreads keys over its nodes, and every one has a TTL', async () => {
    const limiter = createRedisRateLimiter({ redis: cluster.client, keyPrefix: 'spread:' })
    for (let i = 0; i < 30; i++) await limiter.consume(`u:${i}:api`, { limit: 5, windowMs: 60_000 })
    const perNode = clusterPorts.map((p) => Number(cli(p, 'eval', "return #redis.call('keys', 'spread:*')", '0')))
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(30)
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1)
    for (const p of clusterPorts)
      expect(
        cli(
          p,
          'eval',
          "local n = 0 for _, k in ipairs(redis.call('keys', 'spread:*')) do if redis.call('pttl', k) < 0 then n = n + 1 end end return n",
          '0',
        ),
      ).toBe('0')
    expect(await cluster.health()).toBe('ok')
  })

  test('a redis-sentinel:// URL connects to the master the sentinel names', async () => {
    const viaSentinel = await openRedis(config(`redis-sentinel://127.0.0.1:${sentinel}/mymaster`), quiet())
    try {
      const limiter = createRedisRateLimiter({ redis: viaSentinel.client, keyPrefix: 'sentinel:' })
      expect((await limiter.consume('u:1:api', { limit: 1, windowMs: 60_000 })).allowed).toBe(true)
      expect((await limiter.consume('u:1:api', { limit: 1, windowMs: 60_000 })).allowed).toBe(false)
      expect(cli(master, 'exists', 'sentinel:rl:{u:1:api}')).toBe('1')
      expect(await viaSentinel.health()).toBe('ok')
    } finally {
      await viaSentinel.close()
    }
  })
})
