import { expect, test } from 'bun:test'
import type { JobEvent } from '../../core/ports/llm-dispatch.ts'
import { client, describeEachDatabase } from '../helpers/runtime.ts'
import { readSse } from '../helpers/sse.ts'

const waitFor = async <T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> => {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('timed out waiting')
    await Bun.sleep(10)
  }
}

const tiers = {
  free: { requestsPerMinute: { api: 1000, sync: 100 }, chatPerMinute: 30, maxTokens: 512 },
  paid: { requestsPerMinute: { api: 1000, sync: 100 }, chatPerMinute: 100, maxTokens: 1024 },
}

describeEachDatabase(
  'chat turns over HTTP',
  (rt) => {
    const api = client(rt)
    const events = async (jobId: string, token: string, headers: Record<string, string> = {}, query = '') => {
      const res = await rt().app.handle(
        new Request(`http://localhost/v1/jobs/${jobId}/events${query}`, { headers: { authorization: `Bearer ${token}`, ...headers } }),
      )
      expect(res.status).toBe(200)
      return (await readSse(res)).map((e) => ({ id: e.id, ...(e.data as JobEvent) }))
    }
    const conversation = async (token: string) => (await api.post('/v1/conversations', { title: 'chat' }, token)).body.id as string
    const messages = async (convId: string, token: string) =>
      (await api.get(`/v1/conversations/${convId}/messages`, token)).body.items as { role: string; content: string; id: string }[]

    test('202, then the job streams deltas and done; the stored reply equals the deltas', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'hello there' }, token)
      expect(sent.status).toBe(202)
      expect(sent.body.message).toMatchObject({ role: 'user', content: 'hello there' })
      // The message as the message list gives it (API changelog: message objects carry conversationId).
      expect(sent.body.message).toEqual((await messages(conv, token))[0])
      expect(sent.body.message.conversationId).toBe(conv)
      expect(['queued', 'running']).toContain(sent.body.job.status)

      const evs = await events(sent.body.job.id, token)
      expect(evs.map((e) => e.seq)).toEqual(evs.map((_, i) => i + 1))
      expect(evs.map((e) => e.id)).toEqual(evs.map((e) => String(e.seq)))
      const done = evs.at(-1)!
      expect(done.type).toBe('done')
      const text = evs
        .filter((e) => e.type === 'delta')
        .map((e) => (e as { text: string }).text)
        .join('')
      expect(text).toContain('hello there')

      const job = await api.get(`/v1/jobs/${sent.body.job.id}`, token)
      expect(job.body).toMatchObject({
        id: sent.body.job.id,
        status: 'done',
        conversationId: conv,
        messageId: (done as { messageId: string }).messageId,
      })
      const stored = await messages(conv, token)
      expect(stored.map((m) => m.role)).toEqual(['user', 'assistant'])
      expect(stored[1]!.content).toBe(text)
      expect(stored[1]!.id).toBe((done as { messageId: string }).messageId)
    })

    test('Accept: text/event-stream streams the reply in the POST response itself', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const res = await rt().app.handle(
        new Request(`http://localhost/v1/conversations/${conv}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ content: 'stream me' }),
        }),
      )
      expect(res.headers.get('content-type')).toContain('text/event-stream')
      const evs = (await readSse(res)).map((e) => e.data as JobEvent)
      expect(evs.at(-1)!.type).toBe('done')
      expect(evs.map((e) => e.seq)).toEqual(evs.map((_, i) => i + 1))
      const stored = await messages(conv, token)
      expect(stored[1]!.content).toBe(evs.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join(''))
    })

    test('Last-Event-ID and afterSeq resume after that seq: no gap, no duplicate', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'resume me please' }, token)
      const all = await events(sent.body.job.id, token)
      expect(all.length).toBeGreaterThan(4)
      const fromHeader = await events(sent.body.job.id, token, { 'last-event-id': '3' })
      expect(fromHeader.map((e) => e.seq)).toEqual(all.slice(3).map((e) => e.seq))
      const fromQuery = await events(sent.body.job.id, token, {}, '?afterSeq=4')
      expect(fromQuery).toEqual(all.slice(4))
      const bad = await rt().app.handle(
        new Request(`http://localhost/v1/jobs/${sent.body.job.id}/events`, {
          headers: { authorization: `Bearer ${token}`, 'last-event-id': 'yesterday' },
        }),
      )
      expect(bad.status).toBe(400)
    })

    test('a second send while a reply runs is 409; after it ends, sending works again', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const first = await api.post(`/v1/conversations/${conv}/messages`, { content: 'first' }, token)
      const second = await api.post(`/v1/conversations/${conv}/messages`, { content: 'second' }, token)
      expect(second.status).toBe(409)
      expect(second.body.error.code).toBe('CONFLICT')
      await events(first.body.job.id, token)
      await waitFor(async () => ((await api.get(`/v1/jobs/${first.body.job.id}`, token)).body.status === 'done' ? true : undefined))
      const third = await api.post(`/v1/conversations/${conv}/messages`, { content: 'third' }, token)
      expect(third.status).toBe(202)
      await events(third.body.job.id, token)
      expect((await messages(conv, token)).map((m) => m.content.slice(0, 5))).toEqual([
        'first',
        expect.any(String),
        'third',
        expect.any(String),
      ])
    })

    test('cancel ends the stream with CANCELLED, stores no reply, and frees the conversation', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'a long story please' }, token)
      const cancelled = await api.post(`/v1/jobs/${sent.body.job.id}/cancel`, undefined, token)
      expect(cancelled.status).toBe(202)
      const evs = await events(sent.body.job.id, token)
      expect(evs.at(-1)).toMatchObject({ type: 'error', code: 'CANCELLED' })
      expect((await api.get(`/v1/jobs/${sent.body.job.id}`, token)).body.status).toBe('cancelled')
      const next = await waitFor(async () => {
        const r = await api.post(`/v1/conversations/${conv}/messages`, { content: 'again' }, token)
        return r.status === 202 ? r : undefined
      })
      await events(next.body.job.id, token)
      expect((await messages(conv, token)).map((m) => m.role)).toEqual(['user', 'user', 'assistant'])
    })

    test('Idempotency-Key: a repeat returns the first answer and stores nothing new', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const send = () =>
        api.call('POST', `/v1/conversations/${conv}/messages`, {
          body: { content: 'only once' },
          token,
          headers: { 'idempotency-key': 'k-1' },
        })
      const a = await send()
      const b = await send()
      expect(a.status).toBe(202)
      expect(b.status).toBe(202)
      expect(b.body).toEqual(a.body)
      await events(a.body.job.id, token)
      const c = await send()
      expect(c.body).toEqual(a.body)
      expect((await messages(conv, token)).map((m) => m.role)).toEqual(['user', 'assistant'])
    })

    test("another user's job is 404 for status, events and cancel; another user's conversation is 404", async () => {
      const owner = await api.user()
      const other = await api.user()
      const conv = await conversation(owner.token)
      const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'mine' }, owner.token)
      for (const r of [
        await api.get(`/v1/jobs/${sent.body.job.id}`, other.token),
        await api.get(`/v1/jobs/${sent.body.job.id}/events`, other.token),
        await api.post(`/v1/jobs/${sent.body.job.id}/cancel`, undefined, other.token),
        await api.post(`/v1/conversations/${conv}/messages`, { content: 'not yours' }, other.token),
        await api.get(`/v1/jobs/${crypto.randomUUID()}`, owner.token),
      ]) {
        expect(r.status).toBe(404)
        expect(r.body.error.code).toBe('NOT_FOUND')
      }
      expect((await events(sent.body.job.id, owner.token)).at(-1)!.type).toBe('done')
    })

    test('bad input is a 400 and stores nothing', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      for (const body of [{}, { content: '' }, { content: 'x'.repeat(32_001) }, { content: 42 }, { content: 'hi', role: 'assistant' }]) {
        const r = await api.post(`/v1/conversations/${conv}/messages`, body, token)
        expect(r.status).toBe(400)
      }
      expect((await api.get('/v1/jobs/not-a-uuid', token)).status).toBe(400)
      expect(await messages(conv, token)).toEqual([])
    })

    test('the reply sees the earlier turns of the conversation', async () => {
      const { token } = await api.user()
      const conv = await conversation(token)
      const one = await api.post(`/v1/conversations/${conv}/messages`, { content: 'my name is Ada' }, token)
      await events(one.body.job.id, token)
      const spy: string[][] = []
      const submit = rt().slots.llmDispatch.submit
      rt().slots.llmDispatch.submit = (job) => {
        spy.push(job.messages.map((m) => `${m.role}:${m.content.slice(0, 20)}`))
        return submit(job)
      }
      try {
        const two = await api.post(`/v1/conversations/${conv}/messages`, { content: 'what is my name' }, token)
        await events(two.body.job.id, token)
      } finally {
        rt().slots.llmDispatch.submit = submit
      }
      expect(spy[0]).toEqual(['user:my name is Ada', expect.stringMatching(/^assistant:/), 'user:what is my name'])
    })

    test('a cold buffer is rebuilt from the stored messages: the last bufferTurns, oldest first, the new one last', async () => {
      const { token, id } = await api.user()
      const conv = await conversation(token)
      // Stored without a reply, so the conversation buffer never saw them (as after a restart or an expiry).
      for (let i = 0; i < 26; i++) {
        await rt().deps.conversations.addMessage(id, conv, { role: i % 2 ? 'assistant' : 'user', content: `stored ${i}` })
      }
      const spy: string[][] = []
      const submit = rt().slots.llmDispatch.submit
      rt().slots.llmDispatch.submit = (job) => {
        spy.push(job.messages.map((m) => `${m.role}:${m.content}`))
        return submit(job)
      }
      try {
        const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'and now?' }, token)
        expect(sent.status).toBe(202)
        await events(sent.body.job.id, token)
      } finally {
        rt().slots.llmDispatch.submit = submit
      }
      // bufferTurns is 20: stored 7..25 and the new turn; 7 is an assistant turn, which a context may not start with.
      const kept = Array.from({ length: 18 }, (_, k) => `${(k + 8) % 2 ? 'assistant' : 'user'}:stored ${k + 8}`)
      expect(spy[0]).toEqual([...kept, 'user:and now?'])
    })
  },
  { tiers, llm: { fakeTokenDelay: '15 ms' } },
)

describeEachDatabase(
  'chat rate limit',
  (rt) => {
    const api = client(rt)
    test('the tier’s chat messages per minute apply to sends', async () => {
      const { token } = await api.user()
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) {
        const conv = (await api.post('/v1/conversations', {}, token)).body.id
        statuses.push((await api.post(`/v1/conversations/${conv}/messages`, { content: `hi ${i}` }, token)).status)
      }
      expect(statuses).toEqual([202, 202, 429])
    })
  },
  { tiers: { ...tiers, free: { ...tiers.free, chatPerMinute: 2 } }, llm: { fakeTokenDelay: 0 } },
)
