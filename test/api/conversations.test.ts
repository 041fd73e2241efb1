import { expect, test } from 'bun:test'
import { client, describeEachDatabase } from '../helpers/runtime.ts'

describeEachDatabase('conversations', (rt) => {
  const api = client(rt)

  test('create, read, rename, list newest first, delete', async () => {
    const { token } = await api.user()
    const a = await api.post('/v1/conversations', { title: 'first' }, token)
    expect(a.status).toBe(201)
    expect(a.body).toEqual({ id: expect.any(String), title: 'first', createdAt: expect.any(String), updatedAt: expect.any(String) })
    const b = await api.post('/v1/conversations', {}, token)
    expect(b.body.title).toBe('')

    expect((await api.get(`/v1/conversations/${a.body.id}`, token)).body.title).toBe('first')
    const renamed = await api.patch(`/v1/conversations/${a.body.id}`, { title: 'renamed' }, token)
    expect(renamed.status).toBe(200)
    expect(renamed.body.title).toBe('renamed')

    const list = await api.get('/v1/conversations', token)
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([a.body.id, b.body.id])
    expect(list.body.nextCursor).toBeNull()

    expect((await api.del(`/v1/conversations/${a.body.id}`, token)).status).toBe(204)
    expect((await api.get(`/v1/conversations/${a.body.id}`, token)).status).toBe(404)
    expect((await api.del(`/v1/conversations/${a.body.id}`, token)).status).toBe(404)
    expect((await api.get('/v1/conversations', token)).body.items.map((c: { id: string }) => c.id)).toEqual([b.body.id])
  })

  test('pages with limit and cursor cover every conversation once', async () => {
    const { token } = await api.user()
    const ids: string[] = []
    for (let i = 0; i < 7; i++) ids.push((await api.post('/v1/conversations', { title: `c${i}` }, token)).body.id)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await api.get(
        `/v1/conversations?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        token,
      )
      expect(page.body.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.body.items.map((c) => c.id))
      cursor = page.body.nextCursor
    } while (cursor)
    // The same order as one big page (creation order, unless two share a millisecond: then by id).
    const all = (await api.get('/v1/conversations?limit=100', token)).body.items.map((c: { id: string }) => c.id)
    expect(seen).toEqual(all)
    expect([...seen].sort()).toEqual([...ids].sort())
  })

  test("another user's conversation is a 404 for every verb", async () => {
    const owner = await api.user()
    const other = await api.user()
    const c = (await api.post('/v1/conversations', { title: 'private' }, owner.token)).body
    for (const r of [
      await api.get(`/v1/conversations/${c.id}`, other.token),
      await api.patch(`/v1/conversations/${c.id}`, { title: 'mine now' }, other.token),
      await api.del(`/v1/conversations/${c.id}`, other.token),
      await api.get(`/v1/conversations/${c.id}/messages`, other.token),
    ]) {
      expect(r.status).toBe(404)
      expect(r.body.error.code).toBe('NOT_FOUND')
    }
    expect((await api.get(`/v1/conversations/${c.id}`, owner.token)).body.title).toBe('private')
  })

  test('bad ids, limits, cursors and titles are 400s', async () => {
    const { token } = await api.user()
    const bad = [
      await api.get('/v1/conversations/not-a-uuid', token),
      await api.get('/v1/conversations?limit=0', token),
      await api.get('/v1/conversations?limit=101', token),
      await api.get('/v1/conversations?limit=abc', token),
      await api.get('/v1/conversations?cursor=garbage', token),
      await api.get(`/v1/conversations?cursor=${Buffer.from('["x"]').toString('base64url')}`, token),
      await api.post('/v1/conversations', { title: 'x'.repeat(201) }, token),
      await api.post('/v1/conversations', { title: 42 }, token),
      await api.post('/v1/conversations', { owner: 'someone' }, token),
    ]
    for (const r of bad) {
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('VALIDATION_FAILED')
    }
  })

  test('messages of a conversation list oldest first with a cursor', async () => {
    const { token, id: userId } = await api.user()
    const c = (await api.post('/v1/conversations', {}, token)).body
    for (let i = 0; i < 5; i++)
      await rt().deps.conversations.addMessage(userId, c.id, { role: i % 2 ? 'assistant' : 'user', content: `m${i}` })
    const first = await api.get(`/v1/conversations/${c.id}/messages?limit=3`, token)
    expect(first.body.items.map((m: { content: string }) => m.content)).toEqual(['m0', 'm1', 'm2'])
    const rest = await api.get(`/v1/conversations/${c.id}/messages?limit=3&cursor=${first.body.nextCursor}`, token)
    expect(rest.body.items.map((m: { content: string }) => m.content)).toEqual(['m3', 'm4'])
    expect(rest.body.nextCursor).toBeNull()
  })

  test('a body over the limit is a 413 in the error shape, and stores nothing', async () => {
    const { token } = await api.user()
    const raw = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) })
    const r = await api.call('POST', '/v1/conversations', {
      raw,
      token,
      headers: { 'content-type': 'application/json', 'content-length': String(raw.length) },
    })
    expect(r.status).toBe(413)
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE')
    expect((await api.get('/v1/conversations', token)).body.items).toEqual([])
  })

  test("storing a job's answer twice leaves one row, the first", async () => {
    const { token, id } = await api.user()
    const conv = (await api.post('/v1/conversations', {}, token)).body.id as string
    const jobId = crypto.randomUUID()
    const store = (content: string) => rt().deps.conversations.addMessage(id, conv, { role: 'assistant', content, jobId })
    const first = await store('the answer')
    const again = await store('the answer, generated again')
    expect(again).toEqual(first)
    const items = (await api.get(`/v1/conversations/${conv}/messages`, token)).body.items
    expect(items.map((m: { id: string; content: string }) => [m.id, m.content])).toEqual([[first.id, 'the answer']])
  })
})
