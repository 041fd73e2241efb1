import { expect, test } from 'bun:test'
import { changes, conversations } from '../../core/db/schema.ts'
import { client, describeEachDatabase } from '../helpers/runtime.ts'
import { setTimeout as sleep } from 'node:timers/promises'


describeEachDatabase('delta sync', (rt, kind) => {
  const api = client(rt)

  async function pullAll(token: string, cursor?: string) {
    const seen = { conversations: new Map<string, string>(), messages: new Set<string>(), deleted: new Set<string>() }
    for (;;) {
      const r = await api.get(`/v1/sync?limit=5${cursor ? `&cursor=${cursor}` : ''}`, token)
      expect(r.status).toBe(200)
      for (const c of r.body.conversations) seen.conversations.set(c.id, c.title)
      for (const m of r.body.messages) seen.messages.add(m.id)
      for (const d of r.body.deleted) seen.deleted.add(`${d.type}:${d.id}`)
      cursor = r.body.cursor
      if (!r.body.hasMore) return { ...seen, cursor: cursor! }
    }
  }

  test('first pull returns everything; later pulls only what changed, deletions included', async () => {
    const { token, id } = await api.user()
    const a = (await api.post('/v1/conversations', { title: 'a' }, token)).body
    const b = (await api.post('/v1/conversations', { title: 'b' }, token)).body
    const m = await rt().deps.conversations.addMessage(id, a.id, { role: 'user', content: 'hi' })

    const first = await pullAll(token)
    expect([...first.conversations.keys()].sort()).toEqual([a.id, b.id].sort())
    expect([...first.messages]).toEqual([m.id])

    const empty = await api.get(`/v1/sync?cursor=${first.cursor}`, token)
    expect(empty.body).toMatchObject({ conversations: [], messages: [], deleted: [], hasMore: false })

    await api.patch(`/v1/conversations/${b.id}`, { title: 'b2' }, token)
    await api.del(`/v1/conversations/${a.id}`, token)
    const second = await pullAll(token, first.cursor)
    expect([...second.conversations.entries()]).toEqual([[b.id, 'b2']])
    expect([...second.deleted]).toEqual([`conversation:${a.id}`])
  })

  test("one user's sync never shows another user's changes: conversations, messages or deletions", async () => {
    const alice = await api.user()
    const bob = await api.user()
    // Bob has data of his own, a deletion included, so the checks below are not about empty pages.
    const bobKeeps = (await api.post('/v1/conversations', { title: 'bob keeps' }, bob.token)).body.id as string
    const bobDrops = (await api.post('/v1/conversations', { title: 'bob drops' }, bob.token)).body.id as string
    const bobMsg = await rt().deps.conversations.addMessage(bob.id, bobKeeps, { role: 'user', content: 'bob says' })
    await api.del(`/v1/conversations/${bobDrops}`, bob.token)
    const bobBefore = await pullAll(bob.token)

    // Alice writes, renames, adds messages and deletes, after Bob's first pull.
    const kept = (await api.post('/v1/conversations', { title: 'alice keeps' }, alice.token)).body.id as string
    const dropped = (await api.post('/v1/conversations', { title: 'alice drops' }, alice.token)).body.id as string
    const aliceMsgs = [
      await rt().deps.conversations.addMessage(alice.id, kept, { role: 'user', content: 'alice says' }),
      await rt().deps.conversations.addMessage(alice.id, dropped, { role: 'user', content: 'alice said' }),
    ]
    await api.patch(`/v1/conversations/${kept}`, { title: 'alice renamed' }, alice.token)
    await api.del(`/v1/conversations/${dropped}`, alice.token)
    const aliceIds = new Set([kept, dropped, ...aliceMsgs.map((m) => m.id)])

    const bobFromStart = await pullAll(bob.token)
    const bobSince = await pullAll(bob.token, bobBefore.cursor)
    for (const view of [bobBefore, bobFromStart, bobSince]) {
      const ids = [...view.conversations.keys(), ...view.messages, ...[...view.deleted].map((d) => d.split(':')[1]!)]
      expect(ids.filter((id) => aliceIds.has(id))).toEqual([])
    }
    expect([...bobFromStart.conversations.keys()]).toEqual([bobKeeps])
    expect([...bobFromStart.messages]).toEqual([bobMsg.id])
    expect([...bobFromStart.deleted]).toEqual([`conversation:${bobDrops}`])
    expect(bobSince.conversations.size + bobSince.messages.size + bobSince.deleted.size).toBe(0)

    // Alice sees all of hers.
    const alices = await pullAll(alice.token)
    expect([...alices.conversations.entries()]).toEqual([[kept, 'alice renamed']])
    expect([...alices.deleted]).toEqual([`conversation:${dropped}`])
  })

  test('a bad cursor or limit is a 400', async () => {
    const { token } = await api.user()
    for (const q of [
      'cursor=nonsense',
      `cursor=${Buffer.from('["x; drop table users",1]').toString('base64url')}`,
      'limit=0',
      'limit=5000',
    ]) {
      const r = await api.get(`/v1/sync?${q}`, token)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('VALIDATION_FAILED')
    }
  })

  // PGlite runs one transaction at a time (the slow one would be a resolved promise), so
  // the interleaving this is about exists only on PostgreSQL.
  test.if(kind === 'postgres')('PostgreSQL: a transaction that started first but commits last is still delivered', async () => {
    const { token, id: userId } = await api.user()
    const db = rt().slots.dbRouter.write()
    let inserted!: () => void
    const slowInserted = new Promise<void>((r) => (inserted = r))
    let release!: () => void
    const mayCommit = new Promise<void>((r) => (release = r))
    const slowId = crypto.randomUUID()
    const slow = db.transaction(async (tx) => {
      const now = new Date()
      await tx.insert(conversations).values({ id: slowId, userId, title: 'slow', createdAt: now, updatedAt: now })
      await tx.insert(changes).values({ userId, entity: 'conversation', entityId: slowId, op: 'upsert' })
      inserted()
      await mayCommit
    })
    await slowInserted
    const fast = await rt().deps.conversations.create(userId, 'fast')
    const before = await pullAll(token)
    expect(before.conversations.has(slowId)).toBe(false)
    release()
    await slow
    const after = await pullAll(token, before.cursor)
    const all = new Set([...before.conversations.keys(), ...after.conversations.keys()])
    expect(all.has(fast.id)).toBe(true)
    expect(all.has(slowId)).toBe(true)
  })

  test('concurrent writers whose commits land out of order: a reader looping on the cursor misses nothing', async () => {
    const { token, id: userId } = await api.user()
    const db = rt().slots.dbRouter.write()
    const written = new Set<string>()

    // A slow writer takes its transaction id first, then holds the transaction open while
    // faster writers commit: its change is numbered below theirs but becomes visible after.
    const slowWriter = async (i: number) => {
      const convId = crypto.randomUUID()
      await db.transaction(async (tx) => {
        const now = new Date()
        await tx.insert(conversations).values({ id: convId, userId, title: `slow ${i}`, createdAt: now, updatedAt: now })
        await tx.insert(changes).values({ userId, entity: 'conversation', entityId: convId, op: 'upsert' })
        await sleep(5 + Math.random() * 40)
      })
      written.add(convId)
    }
    const fastWriter = async (i: number) => {
      const c = await rt().deps.conversations.create(userId, `fast ${i}`)
      written.add(c.id)
    }

    const seen = new Set<string>()
    let cursor: string | undefined
    let writing = true
    const reader = (async () => {
      // Keep pulling while writers run, then drain once they have all committed.
      for (;;) {
        const done = !writing
        const r = await api.get(`/v1/sync?limit=7${cursor ? `&cursor=${cursor}` : ''}`, token)
        expect(r.status).toBe(200)
        for (const c of r.body.conversations) seen.add(c.id)
        cursor = r.body.cursor
        if (done && !r.body.hasMore) return
        if (!r.body.hasMore) await sleep(1)
      }
    })()

    const writers: Promise<void>[] = []
    for (let i = 0; i < 60; i++) writers.push(i % 3 === 0 ? slowWriter(i) : fastWriter(i))
    await Promise.all(writers)
    writing = false
    await reader
    expect(written.size).toBe(60)
    const missed = [...written].filter((id) => !seen.has(id))
    expect(missed).toEqual([])
    if (kind === 'postgres') expect(seen.size).toBe(60)
  })
})
