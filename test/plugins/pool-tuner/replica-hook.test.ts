/**
 * The replica hook: a db router that exposes `replicaPools()` gets each replica pool sized
 * against that server's budget, and its limit published in the heartbeat under its name; a
 * replica that cannot be read keeps the floor without holding the others back.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Runtime } from '../../../core/app.ts'
import { resolveConfig } from '../../../core/config/load.ts'
import { openDatabase, type Database } from '../../../core/db/open.ts'
import type { ScalePlugin } from '../../../core/plugins/contract.ts'
import type { SizedPool } from '../../../core/ports/db-pool.ts'
import { heartbeatKeys, liveProcesses } from '../../../core/redis/heartbeat.ts'
import poolTuner from '../../../plugins/pool-tuner/index.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { uniquePrefix, useSharedRedis } from '../../redis/redis.ts'

const missing = (await postgresMissing()) ?? (await redisMissing())

/** A router with one "replica" (another database on the same server), shown to pool-tuner. */
function fakeReplicaRouter(replica: Database): ScalePlugin {
  const pool: SizedPool = {
    name: 'replica-1',
    db: replica.db,
    stats: () => ({ driver: 'postgres', max: 10, ...replica.pool!.stats() }),
    resize: (n) => replica.pool!.resize(Math.min(10, n)),
  }
  // A second replica that cannot be read: it keeps the floor, and the first is still sized.
  let brokenSize = 10
  const broken: SizedPool = {
    name: 'replica-2',
    db: { execute: () => Promise.reject(new Error('connection refused')) } as never,
    stats: () => ({ driver: 'postgres', max: 10, size: brokenSize, inUse: 0, waiting: 0 }),
    resize: (n) => void (brokenSize = n),
  }
  return {
    manifest: { name: 'test-replica-router', core: '^0.1.0', provides: ['dbRouter'] },
    setup: (ctx) => ({
      slots: { dbRouter: { write: () => ctx.db, read: () => ctx.db, wrote: () => {}, replicaPools: () => [pool, broken] } as never },
    }),
  }
}

describeWith('pool-tuner sizes replica pools through the router hook [postgres, redis]', missing, () => {
  const prefix = uniquePrefix('pool-tuner-replica')
  let primary: { url: string; drop(): Promise<void> }
  let other: { url: string; drop(): Promise<void> }
  let replica: Database
  let rt: Runtime
  beforeAll(async () => {
    ;[primary, other] = await Promise.all([freshPostgresDatabase(), freshPostgresDatabase()])
    replica = await openDatabase(resolveConfig({ database: { url: other.url } }).database)
    // A headroom that leaves a budget of 4 on the server, below the pools' opened size of 10.
    const [server] = await replica.postgres!<
      { max: number; su: number }[]
    >`select current_setting('max_connections')::int as max, current_setting('superuser_reserved_connections')::int as su`
    const headroom = server!.max - server!.su - 4
    rt = await startRuntime({
      database: { url: primary.url },
      redis: { url: REDIS_URL, keyPrefix: prefix },
      plugins: [
        poolTuner({ min: 1, headroom, interval: '200 ms', heartbeatTtl: '1 s', group: 'replica-hook' }),
        fakeReplicaRouter(replica),
      ],
    })
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await replica?.close()
    await primary?.drop()
    await other?.drop()
  }, HOOK_TIMEOUT)
  // After the runtime's hooks: its keys are dropped once it stopped.
  const shared = useSharedRedis(prefix)

  test('the replica pool gets its share of its server, published under its name', async () => {
    const expected = 4 // one process: the whole budget, below the size the pools were opened at
    for (let i = 0; i < 50 && replica.pool!.stats().size !== expected; i++) await Bun.sleep(100)
    expect(replica.pool!.stats().size).toBe(expected)
    let live = await liveProcesses(shared.redis, heartbeatKeys(prefix, 'replica-hook'))
    for (let i = 0; i < 20 && live[0]?.limits['replica-1'] === undefined; i++) {
      await Bun.sleep(100)
      live = await liveProcesses(shared.redis, heartbeatKeys(prefix, 'replica-hook'))
    }
    expect(live).toHaveLength(1)
    expect(live[0]!.limits).toEqual({ primary: expected, 'replica-1': expected })
    const ready = await client(() => rt).get('/health/ready')
    expect(ready.body.checks['pool-tuner']).toStartWith('degraded')
    expect(ready.body.checks['pool-tuner']).toContain('replica-2: connection refused')
  }, 30_000)
})
