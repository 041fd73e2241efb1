/** Idempotency keys are scoped by user, operation and conversation, and tied to the request they came with. */
import { expect, test } from 'bun:test'
import { client, describeEachDatabase } from '../helpers/runtime.ts'

describeEachDatabase(
  'idempotency keys',
  (rt) => {
    const api = client(rt)
    const send = (conv: string, content: string, token: string, key: string) =>
      api.call('POST', `/v1/conversations/${conv}/messages`, { body: { content }, token, headers: { 'idempotency-key': key } })
    const contents = async (conv: string, token: string) =>
      ((await api.get(`/v1/conversations/${conv}/messages`, token)).body.items as { role: string; content: string }[])
        .filter((m) => m.role === 'user')
        .map((m) => m.content)

    test('one key in two conversations is two keys: each send gets its own message and job', async () => {
      const u = await api.user()
      const x = (await api.post('/v1/conversations', {}, u.token)).body.id as string
      const y = (await api.post('/v1/conversations', {}, u.token)).body.id as string
      const toX = await send(x, 'for X', u.token, 'k1')
      const toY = await send(y, 'for Y', u.token, 'k1')
      expect(toX.status).toBe(202)
      expect(toY.status).toBe(202)
      expect(toY.body.job.id).not.toBe(toX.body.job.id)
      expect(toY.body.message.id).not.toBe(toX.body.message.id)
      expect(toY.body.message.content).toBe('for Y')
      expect(await contents(x, u.token)).toEqual(['for X'])
      expect(await contents(y, u.token)).toEqual(['for Y'])
    })

    test('the same key with the same body replays the first answer; with another body it is a 422', async () => {
      const u = await api.user()
      const x = (await api.post('/v1/conversations', {}, u.token)).body.id as string
      const first = await send(x, 'hello', u.token, 'k2')
      expect(first.status).toBe(202)
      const again = await send(x, 'hello', u.token, 'k2')
      expect(again.status).toBe(202)
      expect(again.body).toEqual(first.body)
      const other = await send(x, 'something else', u.token, 'k2')
      expect(other.status).toBe(422)
      expect(other.body).toEqual({ error: { code: 'IDEMPOTENCY_KEY_REUSED', message: expect.stringContaining('k2') } })
      expect(await contents(x, u.token)).toEqual(['hello'])
    })

    test('after the first reply has ended, a repeat still gets the first answer and a reuse is a 422; neither touches the conversation', async () => {
      const u = await api.user()
      const x = (await api.post('/v1/conversations', {}, u.token)).body.id as string
      const first = await send(x, 'hello', u.token, 'k3')
      expect(first.status).toBe(202)
      for (let i = 0; i < 200 && (await api.get(`/v1/jobs/${first.body.job.id}`, u.token)).body.status !== 'done'; i++) await Bun.sleep(10)
      expect((await api.get(`/v1/jobs/${first.body.job.id}`, u.token)).body.status).toBe('done')
      const before = (await api.get(`/v1/conversations/${x}`, u.token)).body
      const again = await send(x, 'hello', u.token, 'k3')
      expect(again.status).toBe(202)
      expect(again.body).toEqual(first.body)
      const other = await send(x, 'something else', u.token, 'k3')
      expect(other.status).toBe(422)
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED')
      expect(await contents(x, u.token)).toEqual(['hello'])
      expect((await api.get(`/v1/conversations/${x}`, u.token)).body).toEqual(before)
    })

    test("another user's identical key is theirs alone", async () => {
      const a = await api.user()
      const b = await api.user()
      const ca = (await api.post('/v1/conversations', {}, a.token)).body.id as string
      const cb = (await api.post('/v1/conversations', {}, b.token)).body.id as string
      const ra = await send(ca, 'same', a.token, 'shared')
      const rb = await send(cb, 'same', b.token, 'shared')
      expect(rb.status).toBe(202)
      expect(rb.body.job.id).not.toBe(ra.body.job.id)
    })
  },
  { llm: { fakeTokenDelay: 0 }, anonymous: { requestsPerMinute: 1000 } },
)
