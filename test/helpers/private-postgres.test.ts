/**
 * The private PostgreSQL helper itself: a primary starts, stops and starts again, and a
 * streaming replica follows it, so the outage and replica tests stand on something checked.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { HOOK_TIMEOUT } from './runtime.ts'
import { postgresServerMissing, startPrivatePostgres, startReplica, type PrivatePostgres } from './private-postgres.ts'
import { describeWith } from './services.ts'

describeWith('private PostgreSQL with a streaming replica', postgresServerMissing(), () => {
  let primary: PrivatePostgres
  let replica: PrivatePostgres
  beforeAll(async () => {
    primary = await startPrivatePostgres({ settings: { max_connections: '30' } })
    replica = await startReplica(primary)
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await replica?.remove()
    await primary?.remove()
  }, HOOK_TIMEOUT)

  test('settings apply, and the replica is in recovery', async () => {
    const [{ max_connections }] = await primary.sql<{ max_connections: string }>('show max_connections')
    expect(max_connections).toBe('30')
    const [{ r }] = await replica.sql<{ r: boolean }>('select pg_is_in_recovery() as r')
    expect(r).toBe(true)
  })

  test('a write on the primary is replayed on the replica', async () => {
    await primary.sql('create table t (v int)')
    await primary.sql('insert into t values (42)')
    let rows: { v: number }[] = []
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      rows = await replica.sql<{ v: number }>('select v from t').catch(() => [])
      if (rows.length === 0) await Bun.sleep(50)
    }
    expect(rows).toEqual([{ v: 42 }])
  })

  test('stop refuses connections; start serves again with the data kept', async () => {
    await primary.stop()
    await expect(primary.sql('select 1')).rejects.toThrow()
    await primary.start()
    expect(await primary.sql<{ v: number }>('select v from t')).toEqual([{ v: 42 }])
  }, HOOK_TIMEOUT)
})
