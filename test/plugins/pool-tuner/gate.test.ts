/** The pool's gate on its own: slots, the acquire timeout, resizing and closing. */
import { expect, test } from 'bun:test'
import { resolveConfig } from '../../../core/config/load.ts'
import { createGate } from '../../../core/db/gate.ts'
import { isScaleError } from '../../../core/errors.ts'

test('hands out slots up to its size, then queues in order', async () => {
  const gate = createGate({ size: 2, timeoutMs: 5000 })
  expect(gate.tryAcquire()).toBe(true)
  expect(gate.tryAcquire()).toBe(true)
  expect(gate.tryAcquire()).toBe(false)
  const order: number[] = []
  const waits = [1, 2].map((i) => gate.acquire().then(() => order.push(i)))
  expect(gate.stats()).toEqual({ size: 2, inUse: 2, waiting: 2 })
  gate.release()
  gate.release()
  await Promise.all(waits)
  expect(order).toEqual([1, 2])
  expect(gate.stats()).toEqual({ size: 2, inUse: 2, waiting: 0 })
})

test('a wait past the timeout fails with OVERLOADED and Retry-After, and is counted', async () => {
  let timeouts = 0
  const waited: number[] = []
  const gate = createGate({ size: 1, timeoutMs: 100, onTimeout: () => timeouts++, onAcquire: (ms) => waited.push(ms) })
  await gate.acquire()
  const e = await gate.acquire().catch((x) => x)
  expect(isScaleError(e) && e.code).toBe('OVERLOADED')
  expect(e.status).toBe(503)
  expect(e.headers).toEqual({ 'retry-after': '1' })
  expect(timeouts).toBe(1)
  expect(gate.stats()).toEqual({ size: 1, inUse: 1, waiting: 0 })
  expect(waited).toEqual([0])
})

test('growing lets waiters through at once; shrinking lets in-flight holders finish', async () => {
  const gate = createGate({ size: 1, timeoutMs: 5000 })
  await gate.acquire()
  const next = gate.acquire()
  gate.resize(2)
  await next
  expect(gate.stats().inUse).toBe(2)
  gate.resize(1)
  expect(gate.stats()).toEqual({ size: 1, inUse: 2, waiting: 0 })
  let third = false
  const p = gate.acquire().then(() => (third = true))
  gate.release()
  await Bun.sleep(5)
  expect(third).toBe(false) // still 1 in use, size 1
  gate.release()
  await p
  expect(third).toBe(true)
})

test('close() refuses the waiters', async () => {
  const gate = createGate({ size: 1, timeoutMs: 5000 })
  await gate.acquire()
  const waiting = gate.acquire().catch((e) => e.code)
  gate.close()
  expect(await waiting).toBe('UNAVAILABLE')
})

test('config: database.slowQuery (100 ms by default) wins over the older pool.slowQuery; pooler and connection lifetimes', () => {
  const d = resolveConfig({}).database
  expect(d.pool).toEqual({ max: 10, pipeline: 4, acquireTimeoutMs: 5000, slowQueryMs: 100, idleTimeoutMs: 60_000, maxLifetimeMs: 3_600_000 })
  expect(d.pooler).toBe('none')
  expect(resolveConfig({ database: { slowQuery: '250 ms', pool: { slowQuery: '1 s' } } }).database.pool.slowQueryMs).toBe(250)
  expect(resolveConfig({ database: { pool: { slowQuery: '1 s' } } }).database.pool.slowQueryMs).toBe(1000)
  expect(resolveConfig({ database: { slowQuery: 0 } }).database.pool.slowQueryMs).toBe(0)
  expect(() => resolveConfig({ database: { pooler: 'statement' as never } })).toThrow(
    /database.pooler is "statement"; expected 'none', 'session' or 'transaction'/,
  )
})
