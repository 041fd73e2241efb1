/** Hostile and repeated frames over /v1/ws, on a real port: every bad frame is answered, no clientId crosses conversations. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Runtime } from '../../core/app.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'
import { wsClient } from '../helpers/ws-client.ts'

describe('WebSocket input', () => {
  let rt: Runtime
  let base: string
  const api = client(() => rt)
  beforeAll(async () => {
    rt = await startRuntime({ llm: { fakeTokenDelay: 0 }, anonymous: { requestsPerMinute: 1000 } })
    base = `ws://127.0.0.1:${(await rt.listen()).port}/v1/ws`
  }, HOOK_TIMEOUT)
  afterAll(() => rt?.stop(), HOOK_TIMEOUT)

  test('clientId "m1" in two conversations starts two replies; the same clientId with other content is refused', async () => {
    const u = await api.user()
    const x = (await api.post('/v1/conversations', {}, u.token)).body.id as string
    const y = (await api.post('/v1/conversations', {}, u.token)).body.id as string
    const c = wsClient(`${base}?token=${u.token}`)
    await c.opened
    c.send({ type: 'send', conversationId: x, content: 'to X', clientId: 'm1' })
    const ax = await c.next((f) => f.type === 'accepted')
    await c.next((f) => f.type === 'done' && f.jobId === ax.jobId)
    c.send({ type: 'send', conversationId: y, content: 'to Y', clientId: 'm1' })
    const ay = await c.next((f) => f.type === 'accepted' && f.jobId !== ax.jobId)
    expect(ay.messageId).not.toBe(ax.messageId)
    await c.next((f) => f.type === 'done' && f.jobId === ay.jobId)
    const users = async (conv: string) =>
      ((await api.get(`/v1/conversations/${conv}/messages`, u.token)).body.items as { role: string; content: string }[])
        .filter((m) => m.role === 'user')
        .map((m) => m.content)
    expect(await users(x)).toEqual(['to X'])
    expect(await users(y)).toEqual(['to Y'])

    c.send({ type: 'send', conversationId: x, content: 'not to X again', clientId: 'm1' })
    const refused = await c.next((f) => f.type === 'error' && f.code === 'IDEMPOTENCY_KEY_REUSED')
    expect(refused.clientId).toBe('m1')
    expect(await users(x)).toEqual(['to X'])
    c.ws.close()
  })

  test('frames of type __proto__, constructor, toString, a deep frame and NUL content each get an error frame', async () => {
    const u = await api.user()
    const conv = (await api.post('/v1/conversations', {}, u.token)).body.id as string
    const c = wsClient(`${base}?token=${u.token}`)
    await c.opened
    const bad = [
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"type":"toString"}',
      '{"type":"hasOwnProperty","jobId":"x"}',
      `{"type":${'['.repeat(3000)}${']'.repeat(3000)}}`,
      JSON.stringify({ type: 'send', conversationId: conv, content: 'a\u0000b' }),
      '{"type": ',
    ]
    for (const [i, frame] of bad.entries()) {
      c.send(frame)
      await c.next((f) => f.type === 'error' && c.frames.filter((g) => g.type === 'error').length === i + 1)
    }
    const errors = c.frames.filter((f) => f.type === 'error')
    expect(errors).toHaveLength(bad.length)
    for (const e of errors) expect(e.code).toBe('VALIDATION_FAILED')
    // The socket still works.
    c.send({ type: 'ping' })
    await c.next((f) => f.type === 'pong')
    expect((await api.get(`/v1/conversations/${conv}/messages`, u.token)).body.items).toEqual([])
    c.ws.close()
  })
})
