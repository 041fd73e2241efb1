/**
 * Concurrent sends share statements (core/db/batch.ts): their user messages
 * (core/services/turn-sql.ts) and their first answers (core/services/idempotency.ts). Every
 * send still gets its own answer, an error stays with the send that caused it, and what is
 * stored is what single statements would have stored.
 */
import { expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { batcher } from '../../core/db/batch.ts'
import { messages } from '../../core/db/schema.ts'
import { createIdempotencyService, fingerprintOf, type KeyedRequest } from '../../core/services/idempotency.ts'
import { client, describeEachDatabase } from '../helpers/runtime.ts'

test('a batcher runs a lone call alone, gathers what comes while batches run, and runs the items of a failed batch alone', async () => {
  const batches: number[][] = []
  const singles: number[] = []
  let release: () => void = () => {}
  let gate = new Promise<void>((r) => (release = r))
  const run = batcher<number, string>({
    inFlight: 1,
    max: 3,
    one: async (n) => {
      singles.push(n)
      await gate
      if (n === 13) throw new Error('thirteen')
      return `one ${n}`
    },
    many: async (ns) => {
      batches.push(ns)
      await gate
      if (ns.includes(13)) throw new Error('a bad item')
      return ns.map((n) => `many ${n}`)
    },
  })
  const first = run(1)
  await Bun.sleep(1)
  // While the first runs: 5 more wait, and go as a batch of 3 then a batch of 2.
  const rest = [2, 3, 4, 5, 6].map(run)
  release()
  expect(await first).toBe('one 1')
  expect(await Promise.all(rest)).toEqual(['many 2', 'many 3', 'many 4', 'many 5', 'many 6'])
  expect(singles).toEqual([1])
  expect(batches).toEqual([
    [2, 3, 4],
    [5, 6],
  ])
  // A batch that fails: each item alone, and only the bad one fails.
  gate = new Promise<void>((r) => (release = r))
  const blocker = run(0)
  await Bun.sleep(1)
  const mixed = [12, 13, 14].map((n) => run(n).catch((e: Error) => e.message))
  release()
  await blocker
  expect(await Promise.all(mixed)).toEqual(['one 12', 'thirteen', 'one 14'])
})

describeEachDatabase(
  'messages of concurrent chat turns',
  (rt) => {
    const api = client(rt)

    test('62 at once: each its own message or reply, stored answer, refusal or not-found, and the earlier messages of a cold buffer', async () => {
      const alice = await api.user()
      const bob = await api.user()
      const conv = async (token: string) => (await api.post('/v1/conversations', {}, token)).body.id as string
      const convs = await Promise.all(Array.from({ length: 42 }, () => conv(alice.token)))
      // A reply stored earlier, for the one stored again below.
      const jobA = crypto.randomUUID()
      const jobB = crypto.randomUUID()
      const usage = { inputTokens: 3, outputTokens: 7 }
      const firstReply = await rt().deps.conversations.addMessage(alice.id, convs[41]!, {
        role: 'assistant',
        content: 'first reply',
        jobId: jobB,
      })
      const deleted = await conv(alice.token)
      expect((await api.call('DELETE', `/v1/conversations/${deleted}`, { token: alice.token })).status).toBe(204)
      const bobs = await conv(bob.token)
      // History in the first 10 conversations, for the cold-buffer reads.
      for (const c of convs.slice(0, 10)) {
        for (const content of ['h1', 'h2', 'h3']) await rt().deps.conversations.addMessage(alice.id, c, { role: 'user', content })
      }
      // Stored answers for two keys.
      const keyed = (c: string, key: string, content: string): KeyedRequest => ({
        userId: alice.id,
        scope: `send:${c}`,
        key,
        fingerprint: fingerprintOf({ content }),
      })
      await rt().deps.conversations.addMessage(alice.id, convs[20]!, { role: 'user', content: 'earlier send' })
      const idem = createIdempotencyService(rt().slots.dbRouter)
      await idem.put(keyed(convs[20]!, 'k-a', 'again'), { status: 202, body: { first: 'a' } })
      await idem.put(keyed(convs[21]!, 'k-b', 'first content'), { status: 202, body: { first: 'b' } })

      const db = rt().slots.dbRouter.write() as { execute: (q: unknown) => Promise<unknown> }
      const execute = db.execute
      let executed = 0
      db.execute = (q) => (executed++, execute.call(db, q))
      const add = (c: string, content: string, opts: Parameters<ReturnType<typeof rt>['deps']['conversations']['addTurn']>[3] = {}) =>
        rt()
          .deps.conversations.addTurn(alice.id, c, { role: 'user', content }, opts)
          .catch((e: { code?: string }) => ({ error: e.code }))
      executed = 0
      const calls = [
        ...convs.slice(0, 10).map((c, i) => add(c, `cold ${i}`, { earlier: 2 })),
        ...convs.slice(10, 20).map((c, i) => add(c, `plain ${i}`)),
        add(convs[20]!, 'again', { unless: keyed(convs[20]!, 'k-a', 'again') }),
        add(convs[21]!, 'other content', { unless: keyed(convs[21]!, 'k-b', 'other content') }),
        add(deleted, 'to a deleted conversation'),
        add(bobs, "to bob's conversation"),
        ...convs.slice(22, 40).map((c, i) => add(c, `keyed ${i}`, { unless: keyed(c, `k-${i}`, `keyed ${i}`), earlier: 5 })),
        rt().deps.conversations.addTurn(alice.id, convs[40]!, { role: 'assistant', content: 'a reply', jobId: jobA, usage }),
        rt().deps.conversations.addTurn(alice.id, convs[41]!, { role: 'assistant', content: 'the same reply again', jobId: jobB, usage }),
      ]
      const out = (await Promise.all(calls)) as Record<string, any>[]
      // Made in one turn, the 62 went in shared statements, not one each.
      expect(executed).toBeLessThanOrEqual(4)

      for (let i = 0; i < 10; i++) {
        expect(out[i]!.message).toMatchObject({ conversationId: convs[i], role: 'user', content: `cold ${i}` })
        expect(out[i]!.earlier).toEqual([
          { role: 'user', content: 'h2' },
          { role: 'user', content: 'h3' },
        ])
      }
      for (let i = 10; i < 20; i++) {
        expect(out[i]!.message).toMatchObject({ conversationId: convs[i], content: `plain ${i - 10}` })
        expect(out[i]!.earlier).toBeUndefined()
      }
      expect(out[20]).toEqual({ answered: { status: 202, body: { first: 'a' } } })
      expect(out[21]).toEqual({ error: 'IDEMPOTENCY_KEY_REUSED' })
      expect(out[22]).toEqual({ error: 'NOT_FOUND' })
      expect(out[23]).toEqual({ error: 'NOT_FOUND' })
      for (let i = 0; i < 18; i++) {
        expect(out[24 + i]!.message).toMatchObject({ conversationId: convs[22 + i], content: `keyed ${i}` })
        expect(out[24 + i]!.earlier).toEqual([])
      }

      db.execute = execute
      // Replies: stored with their usage, and at most one per job (a second gets the first).
      expect(out[42]!.message).toMatchObject({ conversationId: convs[40], role: 'assistant', content: 'a reply' })
      expect(out[43]!.message).toEqual(firstReply)
      const [reply] = await rt().slots.dbRouter.write().select().from(messages).where(eq(messages.jobId, jobA))
      expect(reply!.usage).toEqual(usage)

      // What is stored: one message per send that was stored, nothing for the others.
      const contents = async (c: string, token = alice.token) =>
        ((await api.get(`/v1/conversations/${c}/messages`, token)).body.items as { content: string }[]).map((m) => m.content)
      expect(await contents(convs[0]!)).toEqual(['h1', 'h2', 'h3', 'cold 0'])
      expect(await contents(convs[15]!)).toEqual(['plain 5'])
      expect(await contents(convs[20]!)).toEqual(['earlier send'])
      expect(await contents(convs[21]!)).toEqual([])
      expect(await contents(bobs, bob.token)).toEqual([])
      expect(await contents(convs[39]!)).toEqual(['keyed 17'])
      expect(await contents(convs[41]!)).toEqual(['first reply'])
      // And delta sync sees each stored message and its conversation once.
      const sync = (await api.get('/v1/sync?limit=1000', alice.token)).body as { messages: { content: string }[]; hasMore: boolean }
      expect(sync.hasMore).toBe(false)
      const synced = sync.messages.map((m) => m.content)
      for (const c of ['cold 3', 'plain 9', 'keyed 0']) expect(synced.filter((s) => s === c)).toHaveLength(1)
    })

    test('first answers put at once: each stored once, and two for one key agree on the one stored', async () => {
      const idem = createIdempotencyService(rt().slots.dbRouter)
      const u = await api.user()
      const r = (key: string): KeyedRequest => ({ userId: u.id, scope: 'send:batch', key, fingerprint: 'same' })
      const out = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => idem.put(r(`p${i}`), { status: 202, body: { i } })),
        idem.put(r('dup'), { status: 202, body: { v: 1 } }),
        idem.put(r('dup'), { status: 202, body: { v: 2 } }),
      ])
      expect(out.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => ({ status: 202, body: { i } })))
      expect(out[9]).toEqual(out[8]!)
      expect(await idem.get(r('dup'))).toEqual(out[8]!)
      for (let i = 0; i < 8; i++) expect(await idem.get(r(`p${i}`))).toEqual({ status: 202, body: { i } })
    })
  },
  { anonymous: { requestsPerMinute: 1000 } },
)
