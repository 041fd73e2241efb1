/**
 * The replica stopped under read load (50 requests a second through the API): no request
 * fails, reads move to the primary within 1 s, `/health/ready` says degraded; started again,
 * the replica is back in rotation within a few polls and serves reads again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Runtime } from '../../../core/app.ts'
import replicaRouter, { type ReplicaRouter } from '../../../plugins/replica-router/index.ts'
import { postgresServerMissing } from '../../helpers/private-postgres.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith } from '../../helpers/services.ts'
import { type Cluster, NO_LIMITS, startCluster, within } from './cluster.ts'

const LAG_POLL_MS = 100

describeWith('replica router: the replica stops and starts under read load', postgresServerMissing(), () => {
  let cluster: Cluster
  let rt: Runtime
  const api = client(() => rt)

  beforeAll(async () => {
    cluster = await startCluster()
    rt = await startRuntime({
      database: { url: cluster.primaryUrl },
      tiers: NO_LIMITS,
      // Reads counted here must reach the router: nothing is kept by the core's read cache.
      cache: { ttl: { user: 0, conversations: 0, conversation: 0, messages: 0 } },
      plugins: [replicaRouter({ urls: [cluster.replicaUrl], lagPoll: `${LAG_POLL_MS} ms`, connectTimeout: '1 s' })],
    })
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await cluster?.remove()
  }, HOOK_TIMEOUT)

  test('0 errors; out within 1 s of the stop, back within a few polls of the start', async () => {
    const router = rt.slots.dbRouter as ReplicaRouter
    const replica = () => router.readTargets()[0]!
    const user = await api.user()
    await api.post('/v1/conversations', { title: 'kept' }, user.token)
    expect(await within(5000, async () => (await router.read(user.id)) !== router.write())).toBeGreaterThanOrEqual(0)

    // 50 requests a second on a schedule (catching up after a stall), at most 25 in flight.
    const statuses: number[] = []
    const inflight = new Set<Promise<void>>()
    let loading = true
    const started = Date.now()
    let issued = 0
    const load = (async () => {
      while (loading) {
        while (issued < (Date.now() - started) / 20 && inflight.size < 25) {
          issued++
          const p: Promise<void> = api
            .get('/v1/conversations?limit=5', user.token)
            .then((r) => void statuses.push(r.status))
            .finally(() => inflight.delete(p))
          inflight.add(p)
        }
        await Bun.sleep(5)
      }
      await Promise.all(inflight)
    })()

    try {
      await Bun.sleep(1500)
      const servedBefore = replica().reads
      expect(servedBefore).toBeGreaterThan(20)

      await cluster.replica.stop()
      const out = await within(1000, () => replica().state === 'down')
      expect(out).toBeGreaterThanOrEqual(0)
      const servedAtOut = replica().reads
      await Bun.sleep(1000)
      expect(replica().reads).toBe(servedAtOut) // every read since went to the primary
      expect(router.primaryReads().no_replicas).toBeGreaterThan(20)
      const ready = await api.get('/health/ready')
      expect(ready.status).toBe(200)
      expect(ready.body.checks['replica-router']).toStartWith('degraded')
      const metrics = await (await rt.app.handle(new Request('http://localhost/metrics'))).text()
      expect(metrics).toMatch(/replica_router_replica_state\{replica="[^"]+",state="down"\} 1/)
      expect(metrics).toMatch(/replica_router_replica_reads_total\{replica="[^"]+"\} [1-9]/)
      expect(metrics).toMatch(/replica_router_primary_reads_total\{reason="no_replicas"\} [1-9]/)
      expect(metrics).toContain('replica_router_replica_lag_seconds{')
      expect(metrics).toContain('replica_router_replica_lag_bytes{')

      await cluster.replica.start()
      const back = await within(20 * LAG_POLL_MS, () => replica().state === 'up')
      expect(back).toBeGreaterThanOrEqual(0)
      const servedAtBack = replica().reads
      expect(await within(1000, () => replica().reads > servedAtBack + 10)).toBeGreaterThanOrEqual(0)
      console.log(`out ${out} ms after the stop returned, back ${back} ms after the start returned`)
    } finally {
      loading = false
      await load
    }
    expect(statuses.length).toBeGreaterThan(((Date.now() - started) / 20) * 0.7)
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  }, 60_000)
})
