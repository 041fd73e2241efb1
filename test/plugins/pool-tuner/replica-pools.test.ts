/**
 * With replica-router, pool-tuner sizes each replica's pool against that replica's own
 * `max_connections`, shared among the live processes as the primary's is: on a private
 * primary (max_connections 60) and a real streaming replica (max_connections 80), two
 * runtimes get 8 primary and 18 replica connections each, and a crowd of slow reads never
 * opens more on the replica than the budget.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import type { Redis } from 'ioredis'
import postgres from 'postgres'
import type { Runtime } from '../../../core/app.ts'
import type { SizedPool } from '../../../core/ports/db-pool.ts'
import { heartbeatKeys, liveProcesses } from '../../../core/redis/heartbeat.ts'
import poolTuner from '../../../plugins/pool-tuner/index.ts'
import replicaRouter from '../../../plugins/replica-router/index.ts'
import { postgresServerMissing } from '../../helpers/private-postgres.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith, REDIS_URL, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, uniquePrefix } from '../../redis/redis.ts'
import { type Cluster, startCluster, within } from '../replica-router/cluster.ts'
import { peakConnections } from './peak.ts'

const missing = postgresServerMissing() ?? (await redisMissing())
const prefix = uniquePrefix('pool-tuner-replicas')
const GROUP = 'replica-pools'
// Budgets: max_connections − superuser_reserved_connections (3) − headroom (40).
const HEADROOM = 40
const replicaPoolsOf = (rt: Runtime) => (rt.slots.dbRouter as unknown as { replicaPools(): SizedPool[] }).replicaPools()

describeWith('pool-tuner sizes replica pools against the replica [private postgres primary + streaming replica, redis]', missing, () => {
  let cluster: Cluster
  let redis: Redis
  const rts: Runtime[] = []
  let budgets: { primary: number; replica: number }

  beforeAll(async () => {
    redis = await connectRedis()
    cluster = await startCluster({ max_connections: '80' })
    const budgetOf = async (url: string) => {
      const c = postgres(url, { max: 1, onnotice: () => {} })
      const [row] = await c.unsafe<{ b: number }[]>(
        `select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
           - coalesce(current_setting('reserved_connections', true), '0')::int - ${HEADROOM} as b`,
      )
      await c.end({ timeout: 1 })
      return row!.b
    }
    budgets = { primary: await budgetOf(cluster.primaryUrl), replica: await budgetOf(cluster.replicaUrl) }
    for (let i = 0; i < 2; i++) {
      rts.push(
        await startRuntime({
          database: { url: cluster.primaryUrl, pool: { max: 40 } },
          redis: { url: REDIS_URL, keyPrefix: prefix },
          plugins: [
            poolTuner({ headroom: HEADROOM, min: 1, interval: '200 ms', heartbeatTtl: '2 s', group: GROUP }),
            replicaRouter({ urls: [cluster.replicaUrl], marks: 'process' }),
          ],
        }),
      )
    }
  }, HOOK_TIMEOUT)

  afterAll(async () => {
    for (const rt of rts) await rt.stop()
    await cluster?.remove()
    await dropKeys(redis, prefix)
    redis?.disconnect()
  }, HOOK_TIMEOUT)

  test("each replica pool gets its share of the replica's budget, not the primary's", async () => {
    expect(budgets).toEqual({ primary: 17, replica: 37 })
    const want = { primary: Math.floor(budgets.primary / 2), replica: Math.floor(budgets.replica / 2) }
    const settled = () =>
      rts.every((rt) => rt.slots.dbPool.stats().size === want.primary && replicaPoolsOf(rt)[0]?.stats().size === want.replica)
    expect(await within(15_000, settled)).toBeGreaterThanOrEqual(0)
    const [pool] = replicaPoolsOf(rts[0]!)
    // Each process publishes what it holds at its next beat.
    const published = { primary: want.primary, [pool!.name]: want.replica }
    let live = await liveProcesses(redis, heartbeatKeys(prefix, GROUP))
    await within(5_000, async () => {
      live = await liveProcesses(redis, heartbeatKeys(prefix, GROUP))
      return live.length === 2 && live.every((p) => Bun.deepEquals(p.limits, published))
    })
    expect(live.map((p) => p.limits)).toEqual([published, published])
    for (const rt of rts) {
      expect((await client(() => rt).get('/health/ready')).body).toMatchObject({
        checks: { 'pool-tuner': expect.stringContaining(`${pool!.name} ${want.replica} of ${budgets.replica} across 2 processes`) },
      })
    }
  }, 30_000)

  test('300 concurrent slow reads on the replica pools never hold more replica connections than the budget', async () => {
    const reads = () =>
      Promise.allSettled(
        rts.flatMap((rt) => Array.from({ length: 150 }, () => replicaPoolsOf(rt)[0]!.db.execute(sql`select pg_sleep(0.05)`))),
      )
    const { peak, result } = await peakConnections(cluster.replicaUrl, reads, "datname = 'app' and pid <> pg_backend_pid()")
    expect(result.filter((r) => r.status === 'rejected')).toEqual([])
    // The pools (18 each) plus each router's lag-poll connection.
    expect(peak).toBeGreaterThan(10)
    expect(peak).toBeLessThanOrEqual(budgets.replica + rts.length)
  }, 60_000)
})
