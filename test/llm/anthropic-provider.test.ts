/** The Anthropic provider through the real SDK, against the local Messages API stub. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { ScaleError } from '../../core/errors.ts'
import { createAnthropicProvider, type AnthropicProviderOptions } from '../../core/llm/anthropic.ts'
import { collectReply, type LlmProvider, type ProviderEvent, type ProviderRequest } from '../../core/llm/provider.ts'
import {
  type AnthropicStub,
  badRequest,
  dropAfter,
  errorEventAfter,
  overloaded,
  rateLimited,
  reply,
  slow,
  stallAfter,
  startAnthropicStub,
} from '../helpers/anthropic-stub.ts'

let stub: AnthropicStub
beforeAll(async () => {
  stub = await startAnthropicStub()
})
afterAll(() => stub.stop())
afterEach(() => stub.reset())

const request: ProviderRequest = {
  system: 'Be brief.',
  messages: [
    { role: 'user', content: 'Hello there' },
    { role: 'assistant', content: 'Hi!' },
    { role: 'user', content: 'How are you?' },
  ],
  maxTokens: 128,
}

const provider = (opts: Partial<AnthropicProviderOptions> = {}): LlmProvider =>
  createAnthropicProvider({ apiKey: 'test-key', baseURL: stub.url, model: 'claude-test', timeoutMs: 5_000, maxRetries: 2, ...opts })

/** Run a stream to its end, keeping what arrived before any error. */
async function drain(p: LlmProvider, signal = new AbortController().signal) {
  const events: ProviderEvent[] = []
  try {
    for await (const ev of p.stream(request, signal)) events.push(ev)
    return { events, error: undefined }
  } catch (e) {
    return { events, error: e as ScaleError }
  }
}
const deltas = (events: ProviderEvent[]) => events.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text)

describe('anthropic provider', () => {
  test('streams the deltas in order, then one usage event', async () => {
    stub.enqueue(reply('The quick brown fox jumps.', { inputTokens: 17 }))
    const { events, error } = await drain(provider())
    expect(error).toBeUndefined()
    expect(deltas(events)).toEqual(['The ', 'quick ', 'brown ', 'fox ', 'jumps.'])
    expect(events.at(-1)).toEqual({ type: 'usage', inputTokens: 17, outputTokens: 5, stopReason: 'end_turn' })
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(1)
  })

  test('sends the model, system, messages, max_tokens and key in the wire format', async () => {
    await collectReply(provider().stream({ ...request, model: 'claude-other' }, new AbortController().signal))
    const [req] = stub.requests
    expect(req!.path).toBe('/v1/messages')
    // SDK versions differ in which header carries the key.
    expect(req!.headers['x-api-key'] ?? req!.headers.authorization?.replace(/^Bearer /, '')).toBe('test-key')
    expect(req!.body).toMatchObject({
      model: 'claude-other',
      max_tokens: 128,
      system: 'Be brief.',
      stream: true,
      messages: request.messages,
    })
  })

  test('uses the configured model when the request names none', async () => {
    const reply = await collectReply(provider().stream(request, new AbortController().signal))
    expect(stub.requests[0]!.body.model).toBe('claude-test')
    expect(reply.text).toBe('Stub reply to: How are you?')
  })

  test('429 then success: the SDK retries once and the reply arrives', async () => {
    stub.enqueue(rateLimited(10), reply('after the wait'))
    const { events, error } = await drain(provider())
    expect(error).toBeUndefined()
    expect(deltas(events).join('')).toBe('after the wait')
    expect(stub.requests).toHaveLength(2)
  })

  test('429 on every attempt → RATE_LIMITED with the retry-after passed on', async () => {
    stub.enqueue(rateLimited(10), rateLimited(10))
    const { error } = await drain(provider({ maxRetries: 1 }))
    expect(error).toBeInstanceOf(ScaleError)
    expect(error!.code).toBe('RATE_LIMITED')
    expect(error!.headers?.['Retry-After']).toBe('1')
    expect(stub.requests).toHaveLength(2)
  })

  test('529 → OVERLOADED, quoting the provider, after the retries run out', async () => {
    stub.enqueue(overloaded(), overloaded())
    const { events, error } = await drain(provider({ maxRetries: 1 }))
    expect(events).toEqual([])
    expect(error!.code).toBe('OVERLOADED')
    expect(error!.message).toContain('"Overloaded"')
    expect(stub.requests).toHaveLength(2)
  })

  test('overloaded_error as an SSE event mid-stream → OVERLOADED after the deltas before it', async () => {
    stub.enqueue(errorEventAfter(2))
    const { events, error } = await drain(provider())
    expect(deltas(events)).toEqual(['one ', 'two '])
    expect(error!.code).toBe('OVERLOADED')
  })

  test('400 → VALIDATION_FAILED with the provider message quoted, never retried', async () => {
    stub.enqueue(badRequest('messages: roles must alternate'))
    const { error } = await drain(provider())
    expect(error!.code).toBe('VALIDATION_FAILED')
    expect(error!.status).toBe(400)
    expect(error!.message).toContain('"messages: roles must alternate"')
    expect(stub.requests).toHaveLength(1)
  })

  test('connection dropped mid-stream → UPSTREAM_ERROR after the deltas that arrived', async () => {
    stub.enqueue(dropAfter(3))
    const { events, error } = await drain(provider({ maxRetries: 0 }))
    expect(deltas(events)).toEqual(['one ', 'two ', 'three '])
    expect(events.some((e) => e.type === 'usage')).toBe(false)
    expect(error).toBeInstanceOf(ScaleError)
    expect(error!.code).toBe('UPSTREAM_ERROR')
    expect(await stub.requests[0]!.outcome).toBe('dropped')
  })

  test('a stream that stalls longer than timeoutMs → TIMEOUT, connection closed', async () => {
    stub.enqueue(stallAfter(2))
    const { events, error } = await drain(provider({ timeoutMs: 150 }))
    expect(deltas(events)).toEqual(['one ', 'two '])
    expect(error!.code).toBe('TIMEOUT')
    expect(await stub.requests[0]!.outcome).toBe('closed')
  })

  test('no response headers within timeoutMs → TIMEOUT', async () => {
    stub.enqueue(slow('too late', 0, 1_000))
    const { error } = await drain(provider({ timeoutMs: 100, maxRetries: 0 }))
    expect(error!.code).toBe('TIMEOUT')
  })

  test('a slow but steady stream completes', async () => {
    stub.enqueue(slow('one two three', 30))
    const { events, error } = await drain(provider({ timeoutMs: 1_000 }))
    expect(error).toBeUndefined()
    expect(deltas(events).join('')).toBe('one two three')
  })

  test('abort stops the stream: CANCELLED, and the stub sees the connection close', async () => {
    stub.enqueue(slow('a b c d e f g h i j k l m n o p', 40))
    const ac = new AbortController()
    const seen: string[] = []
    let error: ScaleError | undefined
    try {
      for await (const ev of provider().stream(request, ac.signal)) {
        if (ev.type === 'delta') seen.push(ev.text)
        if (seen.length === 2) ac.abort()
      }
    } catch (e) {
      error = e as ScaleError
    }
    expect(error?.code).toBe('CANCELLED')
    expect(seen).toHaveLength(2)
    expect(await stub.requests[0]!.outcome).toBe('closed')
  })

  test('breaking out of the loop closes the connection too', async () => {
    stub.enqueue(slow('a b c d e f g h i j k l m n o p', 40))
    for await (const ev of provider().stream(request, new AbortController().signal)) {
      if (ev.type === 'delta') break
    }
    expect(await stub.requests[0]!.outcome).toBe('closed')
  })

  test('an already aborted signal sends nothing', async () => {
    const ac = new AbortController()
    ac.abort()
    const { error } = await drain(provider(), ac.signal)
    expect(error!.code).toBe('CANCELLED')
    expect(stub.requests).toHaveLength(0)
  })

  test('an unreachable provider → UPSTREAM_ERROR', async () => {
    const gone = await startAnthropicStub()
    const url = gone.url
    await gone.stop()
    const { error } = await drain(provider({ baseURL: url, maxRetries: 0 }))
    expect(error!.code).toBe('UPSTREAM_ERROR')
  })
})
