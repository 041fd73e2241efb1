/**
 * The plugin in a runtime, on the shared PostgreSQL as primary: start-up errors that say what
 * to fix, and a replica that cannot be reached at start (the runtime starts, the primary
 * serves the reads, /health/ready says degraded and lists the replica).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Runtime } from '../../../core/app.ts'
import replicaRouter from '../../../plugins/replica-router/index.ts'
import { freePort } from '../../helpers/net.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../../helpers/services.ts'

describeWith('replica-router in a runtime [postgres]', await postgresMissing(), () => {
  let db: { url: string; drop(): Promise<void> }
  let rt: Runtime
  const api = client(() => rt)

  beforeAll(async () => {
    db = await freshPostgresDatabase()
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await db?.drop()
  }, HOOK_TIMEOUT)

  test('no replica URL, or session marks without a session plugin: start-up stops with a coded error', async () => {
    await expect(startRuntime({ database: { url: db.url }, plugins: [replicaRouter({ urls: [] })] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('DATABASE_REPLICA_URLS'),
    })
    await expect(
      startRuntime({ database: { url: db.url }, plugins: [replicaRouter({ urls: ['postgres://127.0.0.1:1/x'], marks: 'session' })] }),
    ).rejects.toMatchObject({ code: 'PLUGIN_MISSING_REQUIREMENT', message: expect.stringContaining('sessionRedis()') })
  }, 30_000)

  test('an unreachable replica at start: the runtime starts, reads go to the primary, health says degraded', async () => {
    const url = `postgres://app:secret@127.0.0.1:${await freePort()}/app`
    rt = await startRuntime({ database: { url: db.url }, plugins: [replicaRouter({ urls: [url], connectTimeout: '500 ms' })] })
    const user = await api.user()
    expect((await api.post('/v1/conversations', { title: 'x' }, user.token)).status).toBe(201)
    const list = await api.get('/v1/conversations', user.token)
    expect(list.status).toBe(200)
    expect(list.body.items).toHaveLength(1)
    const ready = await api.get('/health/ready')
    expect(ready.status).toBe(200)
    expect(ready.body.checks['replica-router']).toStartWith('degraded: no replica in rotation')
    expect(ready.body.checks['replica-router']).toContain('down')
    expect(JSON.stringify(ready.body)).not.toContain('secret')
  }, 30_000)
})
