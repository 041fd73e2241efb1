/** Conformance suite for the session slot: every backend runs it with its own factory. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { settle } from './settle.ts'
import type { SessionStore, Turn } from '../core/ports/session.ts'
import { setTimeout as sleep } from 'node:timers/promises'

/** Ids unique per test, so runs sharing one Redis never collide. */
const uniqueId = (label: string) => `conformance:${label}:${crypto.randomUUID()}`
const turns = (...contents: string[]): Turn[] => contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content }))

export interface SessionStoreSuiteOptions {
  /**
   * The sliding TTL (ms) of sessions and buffers in the stores `make` returns: give a short
   * one (200-1000 ms). Expiry is part of the port's contract, so it is required.
   */
  ttlMs: number
}

/**
 * Runs the session store contract against `make`, called once per test. Uses real time,
 * never a fake clock, so backends that take time from a server pass or fail the same way.
 *
 * @example
 * sessionStoreSuite('memory', () => createMemorySessionStore({ ttlMs: 400 }), { ttlMs: 400 })
 */
export function sessionStoreSuite(name: string, make: () => Promise<SessionStore> | SessionStore, opts: SessionStoreSuiteOptions): void {
  const ttl = opts?.ttlMs
  describe(`session store conformance: ${name}`, () => {
    let store: SessionStore
    beforeEach(async () => {
      store = await make()
    })
    afterEach(async () => {
      await store.stop?.()
    })

    test('an unknown session is null', async () => {
      expect(await store.get(uniqueId('nobody'))).toBeNull()
    })

    test('patch merges fields, null deletes one, and get sees the result', async () => {
      const user = uniqueId('user')
      expect(await store.patch(user, { a: 1, b: 'two' })).toEqual({ a: 1, b: 'two' })
      expect(await store.patch(user, { b: null, c: { nested: [1, 2] } })).toEqual({
        a: 1,
        c: { nested: [1, 2] },
      })
      expect(await store.get(user)).toEqual({ a: 1, c: { nested: [1, 2] } })
    })

    test('the store keeps no reference to caller objects', async () => {
      const user = uniqueId('copy')
      const fields = { profile: { name: 'Ada' } }
      await store.patch(user, fields)
      fields.profile.name = 'changed after patch'
      const read = (await store.get(user)) as { profile: { name: string } }
      read.profile.name = 'changed after get'
      expect(await store.get(user)).toEqual({ profile: { name: 'Ada' } })
    })

    test('20 concurrent patches of different fields lose nothing', async () => {
      const user = uniqueId('concurrent')
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.patch(user, { [`f${i}`]: i })))
      const data = await store.get(user)
      expect(Object.keys(data ?? {}).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`).sort())
      expect(data?.f7).toBe(7)
    })

    test('delete removes a session and leaves others', async () => {
      const a = uniqueId('a')
      const b = uniqueId('b')
      await store.patch(a, { x: 1 })
      await store.patch(b, { y: 2 })
      await store.delete(a)
      expect(await store.get(a)).toBeNull()
      expect(await store.get(b)).toEqual({ y: 2 })
    })

    test('the suite is told the TTL of the stores under test', () => {
      // Without it the expiry cases below could not run; a store without expiry breaks the port.
      expect(typeof ttl === 'number' && ttl > 0 ? 'declared' : 'sessionStoreSuite(name, make, { ttlMs }) needs ttlMs').toBe('declared')
    })

    test.skipIf(!ttl)('sessions expire after the TTL, and get slides it', async () => {
      const t = ttl as number
      const user = uniqueId('ttl')
      const idle = uniqueId('idle')
      await store.patch(user, { a: 1 })
      await store.patch(idle, { a: 1 })
      await sleep(t * 0.6)
      expect(await store.get(user)).toEqual({ a: 1 })
      await sleep(t * 0.6)
      // 1.2 TTL since the write, 0.6 since the read: only the read one survives.
      expect(await store.get(user)).toEqual({ a: 1 })
      expect(await store.get(idle)).toBeNull()
      await sleep(t + 100)
      expect(await store.get(user)).toBeNull()
    })

    test.skipIf(!ttl)('buffers expire after the TTL, and reads slide it', async () => {
      const t = ttl as number
      const conv = uniqueId('buffer-ttl')
      await store.appendTurns(conv, turns('hi'), 10)
      await sleep(t * 0.6)
      expect((await store.getBuffer(conv))?.turns).toEqual(turns('hi'))
      await sleep(t * 0.6)
      expect((await store.getBuffer(conv))?.turns).toEqual(turns('hi'))
      await sleep(t + 100)
      expect(await store.getBuffer(conv)).toBeNull()
    })

    test('a lock has one holder; only its token releases it', async () => {
      const key = uniqueId('lock')
      const token = await store.acquireLock(key, 5_000)
      expect(typeof token).toBe('string')
      expect(await store.acquireLock(key, 5_000)).toBeNull()
      expect(await store.releaseLock(key, 'not-the-token')).toBe(false)
      expect(await store.acquireLock(key, 5_000)).toBeNull()
      expect(await store.releaseLock(key, token as string)).toBe(true)
      expect(await store.releaseLock(key, token as string)).toBe(false)
      const next = await store.acquireLock(key, 5_000)
      expect(typeof next).toBe('string')
      expect(next).not.toBe(token)
    })

    test('50 concurrent acquireLock calls: exactly one token', async () => {
      const key = uniqueId('lock-race')
      const results = await Promise.all(Array.from({ length: 50 }, () => store.acquireLock(key, 5_000)))
      expect(results.filter((r) => r !== null).length).toBe(1)
    })

    test('locks on different keys are independent', async () => {
      const a = await store.acquireLock(uniqueId('lock-a'), 5_000)
      const b = await store.acquireLock(uniqueId('lock-b'), 5_000)
      expect(a).not.toBeNull()
      expect(b).not.toBeNull()
    })

    test('an expired lock can be taken again, and the old token no longer owns it', async () => {
      const key = uniqueId('lock-expiry')
      const old = (await store.acquireLock(key, 200)) as string
      expect(old).toBeString()
      await sleep(300)
      const fresh = await store.acquireLock(key, 5_000)
      expect(fresh).toBeString()
      expect(await store.releaseLock(key, old)).toBe(false)
      expect(await store.extendLock(key, old, 5_000)).toBe(false)
      expect(await store.acquireLock(key, 5_000)).toBeNull()
    })

    test('only the owner extends a lock, and an extended lock outlives its first TTL', async () => {
      const key = uniqueId('lock-extend')
      const token = (await store.acquireLock(key, 300)) as string
      expect(await store.extendLock(key, 'not-the-token', 5_000)).toBe(false)
      expect(await store.extendLock(key, token, 5_000)).toBe(true)
      await sleep(450)
      expect(await store.acquireLock(key, 5_000)).toBeNull()
      expect(await store.releaseLock(key, token)).toBe(true)
    })

    test('an unknown buffer is null; turns come back in order', async () => {
      const conv = uniqueId('conv')
      expect(await store.getBuffer(conv)).toBeNull()
      await store.appendTurns(conv, turns('q1', 'a1'), 10)
      await store.appendTurns(conv, turns('q2'), 10)
      const buffer = await store.getBuffer(conv)
      expect(buffer?.turns.map((t) => t.content)).toEqual(['q1', 'a1', 'q2'])
      expect(buffer?.turns[1]?.role).toBe('assistant')
      expect(buffer?.summary).toBeUndefined()
    })

    test('the buffer keeps at most maxTurns, dropping the oldest', async () => {
      const conv = uniqueId('cap')
      await store.appendTurns(conv, turns('1', '2', '3'), 4)
      await store.appendTurns(conv, turns('4', '5', '6'), 4)
      expect((await store.getBuffer(conv))?.turns.map((t) => t.content)).toEqual(['3', '4', '5', '6'])
      await store.appendTurns(conv, turns('7', '8', '9', '10', '11'), 2)
      expect((await store.getBuffer(conv))?.turns.map((t) => t.content)).toEqual(['10', '11'])
    })

    test('the summary is kept across appends and trimming', async () => {
      const conv = uniqueId('summary')
      await store.setSummary(conv, 'so far: greetings')
      expect(await store.getBuffer(conv)).toEqual({ turns: [], summary: 'so far: greetings' })
      await store.appendTurns(conv, turns('a', 'b', 'c'), 2)
      expect(await store.getBuffer(conv)).toEqual({
        turns: turns('a', 'b', 'c').slice(1),
        summary: 'so far: greetings',
      })
      await store.setSummary(conv, 'so far: greetings, a')
      expect((await store.getBuffer(conv))?.summary).toBe('so far: greetings, a')
    })

    test('clearBuffer removes turns and summary of one conversation only', async () => {
      const a = uniqueId('clear-a')
      const b = uniqueId('clear-b')
      await store.appendTurns(a, turns('x'), 5)
      await store.setSummary(a, 's')
      await store.appendTurns(b, turns('y'), 5)
      await store.clearBuffer(a)
      expect(await store.getBuffer(a)).toBeNull()
      expect((await store.getBuffer(b))?.turns).toEqual(turns('y'))
    })

    test('stop can be called twice', async () => {
      expect(await settle(store.stop?.())).toBe('done')
      expect(await settle(store.stop?.())).toBe('done')
    })
  })
}
