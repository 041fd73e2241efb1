/**
 * `database.pooler: 'transaction'` behind a real PgBouncer in transaction mode (2 server
 * connections for many clients): migrations, auth, the conversation list (prepared statements
 * otherwise) and sync all work under concurrency.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Runtime } from '../../../core/app.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, POSTGRES_URL, postgresMissing } from '../../helpers/services.ts'
import { pgbouncerMissing, startPgBouncer, type PrivatePgBouncer } from './pgbouncer.ts'

const missing = (await postgresMissing()) ?? pgbouncerMissing()

async function busyUser(rt: Runtime) {
  const api = client(() => rt)
  const { token } = await api.user()
  for (let i = 0; i < 3; i++) expect((await api.post('/v1/conversations', { title: `c${i}` }, token)).status).toBe(201)
  return { api, token }
}

describeWith('database.pooler transaction behind PgBouncer (transaction mode) [postgres, pgbouncer]', missing, () => {
  let bouncer: PrivatePgBouncer
  let db: { url: string; drop(): Promise<void> }
  const runtimes: Runtime[] = []
  beforeAll(async () => {
    db = await freshPostgresDatabase()
    bouncer = await startPgBouncer({ mode: 'transaction', poolSize: 2, target: new URL(POSTGRES_URL) })
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    for (const rt of runtimes) await rt.stop()
    await bouncer?.stop()
    await db?.drop()
  }, HOOK_TIMEOUT)

  test("with pooler 'transaction': migrations, register, the conversation list and sync all answer, under concurrency", async () => {
    const rt = await startRuntime({ database: { url: bouncer.through(db.url), pooler: 'transaction', pool: { max: 10 } } })
    runtimes.push(rt)
    const { api, token } = await busyUser(rt)
    const lists = await Promise.all(Array.from({ length: 40 }, () => api.get('/v1/conversations?limit=2', token)))
    expect(lists.map((r) => r.status)).toEqual(lists.map(() => 200))
    expect(lists.every((r) => r.body.items.length === 2)).toBe(true)
    const syncs = await Promise.all(Array.from({ length: 10 }, () => api.get('/v1/sync', token)))
    expect(syncs.map((r) => r.status)).toEqual(syncs.map(() => 200))
  }, 60_000)
})
