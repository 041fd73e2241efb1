/**
 * The replica router on a real primary and streaming replica: the db router conformance
 * suite, reads on the replica, read-your-writes right after a write, the lag threshold
 * (replay paused: out, resumed: back), and a failed replica read retried on the primary.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { users } from '../../../core/db/schema.ts'
import type { Database } from '../../../core/db/open.ts'
import { createReplicaRouter, type ReplicaRouter, type ReplicaRouterConfig } from '../../../plugins/replica-router/index.ts'
import { dbRouterSuite } from 'scale-runtime/testing'
import { postgresServerMissing } from '../../helpers/private-postgres.ts'
import { HOOK_TIMEOUT } from '../../helpers/runtime.ts'
import { describeWith } from '../../helpers/services.ts'
import { type Cluster, openPrimary, startCluster, within } from './cluster.ts'

const baseOptions = {
  poolMax: 4,
  lagPollMs: 50,
  maxLagMs: 1000,
  maxLagBytes: 16 * 1024 * 1024,
  maxWaitMs: 0,
  ttlMs: 5000,
  pollTimeoutMs: 1000,
  connectTimeoutMs: 1000,
}

describeWith('replica router on a primary and a streaming replica', postgresServerMissing(), () => {
  let cluster: Cluster
  const opened: { db: Database; router: ReplicaRouter }[] = []
  const open = async (over: Partial<ReplicaRouterConfig> = {}) => {
    const db = await openPrimary(cluster.primaryUrl)
    const router = await createReplicaRouter({
      ...baseOptions,
      ...over,
      primaryDb: db.db,
      primarySql: db.postgres!,
      replicas: [{ url: cluster.replicaUrl, name: 'replica' }],
    })
    opened.push({ db, router })
    return { db, router }
  }

  beforeAll(async () => {
    cluster = await startCluster()
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    for (const o of opened) {
      await o.router.stop()
      await o.db.close()
    }
    await cluster?.remove()
  }, HOOK_TIMEOUT)

  describe('conformance', () => {
    dbRouterSuite('replica router', async () => {
      const { router } = await open()
      return { router, close: async () => {} }
    })
  })

  test('a user without a recent write reads on the replica; right after a write, wherever has it', async () => {
    const { router } = await open()
    expect(router.readTargets()[0]!.state).toBe('up')
    expect(await router.read('someone')).toBe(router.replicas[0]!.db)
    expect(await router.read()).toBe(router.replicas[0]!.db)

    const id = crypto.randomUUID()
    const now = new Date()
    await router.write().insert(users).values({ id, email: `${id}@example.com`, passwordHash: 'x', createdAt: now, updatedAt: now })
    await router.wrote(id)
    const [row] = await (await router.read(id)).select().from(users).where(eq(users.id, id))
    expect(row?.id).toBe(id)
    // Once the replica replayed the write (next polls), this user reads there again.
    expect(await within(5000, async () => (await router.read(id)) === router.replicas[0]!.db)).toBeGreaterThanOrEqual(0)
  }, 30_000)

  test('a replica whose replay is paused leaves the rotation past maxLag and comes back once resumed', async () => {
    const { router } = await open({ maxLagMs: 300, ttlMs: 2000 })
    // The same replica, judged by bytes only: a time limit it never reaches, 64 KiB of WAL.
    const byBytes = (await open({ maxLagMs: 60_000, ttlMs: 120_000, maxLagBytes: 64 * 1024 })).router
    const write = async () => {
      const id = crypto.randomUUID()
      const now = new Date()
      await router.write().insert(users).values({ id, email: `${id}@example.com`, passwordHash: 'x', createdAt: now, updatedAt: now })
    }
    await cluster.replica.sql('select pg_wal_replay_pause()')
    try {
      await write()
      const left = await within(5000, async () => {
        await write()
        return router.readTargets()[0]!.state === 'lagging'
      })
      expect(left).toBeGreaterThanOrEqual(250)
      expect(router.readTargets()[0]!.lagSeconds).toBeGreaterThan(0.3)
      expect(await router.read('anyone')).toBe(router.write())
      expect(router.primaryReads().no_replicas).toBeGreaterThan(0)
      // 64 KiB of WAL in a few hundred small inserts.
      const past = await within(10_000, async () => {
        await Promise.all(Array.from({ length: 20 }, write))
        return byBytes.readTargets()[0]!.state === 'lagging'
      })
      expect(past).toBeGreaterThanOrEqual(0)
      expect(byBytes.readTargets()[0]!.lagBytes).toBeGreaterThan(64 * 1024)
      expect(byBytes.readTargets()[0]!.lagSeconds).toBeLessThan(60)
    } finally {
      await cluster.replica.sql('select pg_wal_replay_resume()')
    }
    expect(await within(5000, () => router.readTargets()[0]!.state === 'up')).toBeGreaterThanOrEqual(0)
    expect(await router.read('anyone')).toBe(router.replicas[0]!.db)
    expect(await within(5000, () => byBytes.readTargets()[0]!.state === 'up')).toBeGreaterThanOrEqual(0)
  }, 30_000)

  test('maxWait: a read waits for a replica to replay the reader\'s write, and goes to the primary when none does in time', async () => {
    const insertUser = async (router: ReplicaRouter) => {
      const id = crypto.randomUUID()
      const now = new Date()
      await router.write().insert(users).values({ id, email: `${id}@example.com`, passwordHash: 'x', createdAt: now, updatedAt: now })
      await router.wrote(id)
      return id
    }
    const patient = (await open({ maxLagMs: 10_000, ttlMs: 30_000, maxWaitMs: 5000 })).router
    const hasty = (await open({ maxLagMs: 10_000, ttlMs: 30_000, maxWaitMs: 200 })).router
    await cluster.replica.sql('select pg_wal_replay_pause()')
    try {
      const id = await insertUser(patient)
      let started = Date.now()
      const hastyRead = await hasty.read(await insertUser(hasty))
      expect(hastyRead).toBe(hasty.write())
      expect(Date.now() - started).toBeGreaterThanOrEqual(190)
      expect(hasty.primaryReads().not_caught_up).toBe(1)

      started = Date.now()
      const pending = patient.read(id)
      await Bun.sleep(300)
      await cluster.replica.sql('select pg_wal_replay_resume()')
      expect(await pending).toBe(patient.replicas[0]!.db)
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      const [row] = await (await pending).select().from(users).where(eq(users.id, id))
      expect(row?.id).toBe(id)
    } finally {
      await cluster.replica.sql('select pg_wal_replay_resume()')
    }
  }, 30_000)

  test('a read whose replica fails is retried on the primary and the replica leaves at once; a bad query is not a replica failure', async () => {
    const events: { from: string; to: string }[] = []
    const { router } = await open({ onEvent: (e) => events.push(e) })
    const replica = router.replicas[0]!
    // A client's mistake fails on the primary too: it stays an error and the replica stays in.
    const db = await router.read('u')
    await expect(Promise.resolve().then(() => db.execute("select 'not-a-uuid'::uuid"))).rejects.toThrow('uuid')
    expect(replica.state).toBe('up')

    // A read in flight on the replica loses its connection (terminated from the server side):
    // it is answered by the primary, and the replica is out at once.
    const before = router.primaryReads().replica_down
    const slow = Promise.resolve().then(() => replica.db.execute('select pg_sleep(1.5) as s, pg_is_in_recovery() as r'))
    const found = await within(1000, async () => {
      const rows = await cluster.replica.sql<{ t: boolean }>(
        "select pg_terminate_backend(pid) as t from pg_stat_activity where query like 'select pg_sleep(1.5)%'",
      )
      return rows.length > 0
    })
    expect(found).toBeGreaterThanOrEqual(0)
    const rows = (await slow) as unknown as { r: boolean }[]
    expect(rows[0]!.r).toBe(false) // answered by the primary
    expect(router.primaryReads().replica_down).toBe(before + 1)
    expect(events).toContainEqual(expect.objectContaining({ from: 'up', to: 'down' }))
    // Its polls still succeed (the server is up), so it is back in rotation within a few polls.
    expect(await within(2000, () => replica.state === 'up')).toBeGreaterThanOrEqual(0)
  }, 30_000)
})
