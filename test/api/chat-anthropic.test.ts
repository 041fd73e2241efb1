/** The chat turn through the real Anthropic SDK, pointed at a local stub of the Messages API. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import type { Runtime } from '../../core/app.ts'
import { messages } from '../../core/db/schema.ts'
import type { JobEvent } from '../../core/ports/llm-dispatch.ts'
import { type AnthropicStub, dropAfter, overloaded, rateLimited, reply, slow, startAnthropicStub } from '../helpers/anthropic-stub.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'
import { readSse } from '../helpers/sse.ts'

describe('chat turns on the anthropic provider', () => {
  let stub: AnthropicStub
  let rt: Runtime
  const api = client(() => rt)

  beforeAll(async () => {
    stub = await startAnthropicStub()
    rt = await startRuntime({
      llm: { provider: 'anthropic', apiKey: 'stub-key', baseURL: stub.url, model: 'claude-test', maxRetries: 1, system: 'Be brief.' },
      tiers: {
        free: { requestsPerMinute: { api: 1000, sync: 100 }, chatPerMinute: 100, maxTokens: 300 },
        paid: { requestsPerMinute: { api: 1000, sync: 100 }, chatPerMinute: 100, maxTokens: 600 },
      },
    })
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt.stop()
    await stub.stop()
  }, HOOK_TIMEOUT)

  async function turn(content: string) {
    const { token, id } = await api.user()
    const conv = (await api.post('/v1/conversations', {}, token)).body.id as string
    const res = await rt.app.handle(
      new Request(`http://localhost/v1/conversations/${conv}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ content }),
      }),
    )
    const events = (await readSse(res)).map((e) => e.data as JobEvent)
    return { token, userId: id, conv, events }
  }

  const storedAssistant = (conv: string) => rt.slots.dbRouter.write().select().from(messages).where(eq(messages.conversationId, conv))

  test('streams the provider’s text, stores it with the reported usage, and caps max_tokens by tier', async () => {
    stub.enqueue(reply('Hello from the stub, briefly.', { inputTokens: 17 }))
    const { conv, events } = await turn('hi there')
    const done = events.at(-1)!
    expect(done).toMatchObject({ type: 'done', usage: { inputTokens: 17, outputTokens: expect.any(Number) } })
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe('Hello from the stub, briefly.')

    const request = stub.requests.at(-1)!
    expect(request.body).toMatchObject({ model: 'claude-test', max_tokens: 300, stream: true, system: 'Be brief.' })
    expect(request.body.messages).toEqual([{ role: 'user', content: 'hi there' }])

    const rows = await storedAssistant(conv)
    const assistant = rows.find((m) => m.role === 'assistant')!
    expect(assistant.content).toBe('Hello from the stub, briefly.')
    expect(assistant.usage).toEqual((done as { usage: unknown }).usage as never)
    expect(assistant.jobId).toBe(done.jobId)
  })

  test('a 429 then success is retried by the SDK and the user sees one clean reply', async () => {
    stub.enqueue(rateLimited(10), reply('after the retry'))
    const before = stub.requests.length
    const { events } = await turn('again')
    expect(stub.requests.length - before).toBe(2)
    expect(events.at(-1)!.type).toBe('done')
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe('after the retry')
  })

  test('an overloaded provider ends the stream with OVERLOADED, stores no reply and frees the conversation', async () => {
    stub.enqueue(overloaded(10), overloaded(10))
    const { conv, token, events } = await turn('busy?')
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'OVERLOADED' })
    expect((await storedAssistant(conv)).map((m) => m.role)).toEqual(['user'])
    stub.enqueue(reply('free again'))
    const next = await api.post(`/v1/conversations/${conv}/messages`, { content: 'and now?' }, token)
    expect(next.status).toBe(202)
  })

  test('a connection dropped mid-stream is an UPSTREAM_ERROR after the deltas that arrived', async () => {
    stub.enqueue(dropAfter(3))
    const { events } = await turn('drop me')
    expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThanOrEqual(1)
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_ERROR' })
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
  })

  test('cancel aborts the provider stream', async () => {
    stub.enqueue(slow('one two three four five six seven eight nine ten', 100))
    const { token } = await api.user()
    const conv = (await api.post('/v1/conversations', {}, token)).body.id
    const before = stub.requests.length
    const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'slowly' }, token)
    await stub.waitForRequests(before + 1)
    const request = stub.requests.at(-1)!
    await api.post(`/v1/jobs/${sent.body.job.id}/cancel`, undefined, token)
    expect(await request.outcome).toBe('closed')
  })
})
