/**
 * Read-your-writes through the API with a replica that applies WAL 2 s late
 * (recovery_min_apply_delay): 1,000 rounds of "create a conversation, list conversations" by
 * one user never miss the new conversation, while another user's lists are served by the
 * replica (counted on the replica itself, in pg_stat_user_tables).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Runtime } from '../../../core/app.ts'
import replicaRouter, { createReplicaRouter, type ReplicaRouter } from '../../../plugins/replica-router/index.ts'
import { dbRouterSuite } from 'scale-runtime/testing'
import { postgresServerMissing } from '../../helpers/private-postgres.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith } from '../../helpers/services.ts'
import { type Cluster, conversationScans, NO_LIMITS, openPrimary, startCluster, within } from './cluster.ts'

const ROUNDS = 1000

describeWith('read-your-writes through the API, replica 2 s behind', postgresServerMissing(), () => {
  let cluster: Cluster
  let rt: Runtime
  const api = client(() => rt)

  beforeAll(async () => {
    cluster = await startCluster({ recovery_min_apply_delay: "'2s'" })
    rt = await startRuntime({
      database: { url: cluster.primaryUrl },
      tiers: NO_LIMITS,
      // Reads counted here must reach the router: nothing is kept by the core's read cache.
      cache: { ttl: { user: 0, conversations: 0, conversation: 0, messages: 0 } },
      // maxLag above the 2 s delay, so the replica stays in rotation for users without a recent write.
      plugins: [replicaRouter({ urls: [cluster.replicaUrl], lagPoll: '100 ms', maxLag: '10 s' })],
    })
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await cluster?.remove()
  }, HOOK_TIMEOUT)

  // The port's own suite, where a miss would show: the replica is 2 s behind every write.
  describe('conformance', () => {
    dbRouterSuite('replica router, replica 2 s behind', async () => {
      const db = await openPrimary(cluster.primaryUrl)
      const router = await createReplicaRouter({
        primaryDb: db.db,
        primarySql: db.postgres!,
        replicas: [{ url: cluster.replicaUrl, name: 'replica' }],
        poolMax: 2,
        lagPollMs: 100,
        maxLagMs: 10_000,
        maxLagBytes: 16 * 1024 * 1024,
        maxWaitMs: 0,
        ttlMs: 30_000,
        pollTimeoutMs: 1000,
        connectTimeoutMs: 1000,
      })
      return {
        router,
        close: async () => {
          await router.stop()
          await db.close()
        },
      }
    })
  })

  test(`${ROUNDS} rounds of write-then-read by one user: 0 misses; another user's reads go to the replica`, async () => {
    const router = rt.slots.dbRouter as ReplicaRouter
    const writer = await api.user()
    const reader = await api.user()
    // The reader's own registration is a write: wait until the (2 s late) replica has it.
    expect(await within(10_000, async () => (await router.read(reader.id)) !== router.write())).toBeGreaterThanOrEqual(0)

    const scansBefore = await conversationScans(cluster.replicaUrl)
    const readsBefore = router.readTargets()[0]!.reads
    let done = false
    let readerLists = 0
    const readerLoop = (async () => {
      while (!done) {
        const r = await api.get('/v1/conversations?limit=5', reader.token)
        expect(r.status).toBe(200)
        readerLists++
        await Bun.sleep(5)
      }
    })()

    let misses = 0
    const started = Date.now()
    for (let i = 0; i < ROUNDS; i++) {
      const created = await api.post('/v1/conversations', { title: `round ${i}` }, writer.token)
      expect(created.status).toBe(201)
      const list = await api.get<{ items: { id: string }[] }>('/v1/conversations?limit=20', writer.token)
      expect(list.status).toBe(200)
      if (!list.body.items.some((c) => c.id === created.body.id)) misses++
    }
    done = true
    await readerLoop
    const elapsed = Date.now() - started

    expect(misses).toBe(0)
    // The writer's reads never waited for the replica: each had a write the replica had not applied.
    expect(router.primaryReads().not_caught_up).toBeGreaterThanOrEqual(ROUNDS)
    // The reader's lists ran on the replica: the plugin routed them there, and the replica saw them.
    expect(readerLists).toBeGreaterThan(10)
    expect(router.readTargets()[0]!.reads - readsBefore).toBeGreaterThanOrEqual(readerLists)
    // A busy backend flushes its table counters at most once a second, an idle one within 10 s.
    let scans = 0
    await within(15_000, async () => (scans = (await conversationScans(cluster.replicaUrl)) - scansBefore) >= readerLists)
    expect(scans).toBeGreaterThanOrEqual(readerLists)
    console.log(`${ROUNDS} rounds in ${elapsed} ms, ${readerLists} lists by the other user on the replica`)
  }, 180_000)
})
