/** The Anthropic-compatible gateway on a real port, driven by the official SDK (and raw fetch for the wire). */
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ScaleConfig } from '../../core/config/define.ts'
import { fakeReplyWords } from '../../core/llm/fake.ts'
import type { LlmProvider } from '../../core/llm/provider.ts'
import { type AnthropicStub, errorEventAfter, overloaded, reply, slow, startAnthropicStub } from '../helpers/anthropic-stub.ts'
import { client, HOOK_TIMEOUT, startRuntime } from '../helpers/runtime.ts'

const open = { anonymous: { requestsPerMinute: 1000 } } satisfies ScaleConfig
const ask = (content: string | Anthropic.TextBlockParam[], max_tokens = 256) => ({
  model: 'claude-test',
  max_tokens,
  messages: [{ role: 'user' as const, content }],
})
/** A reply's content blocks, typed loosely: the SDK's TextBlock type requires `citations`. */
const blocks = (m: Anthropic.Message): unknown[] => m.content
/** The fake provider's whole reply to one user message. */
const fakeReply = (said: string) => fakeReplyWords({ messages: [{ role: 'user', content: said }], maxTokens: 1 }).join(' ')

/** A runtime on a free port, a way to get fresh users, an SDK client and a raw poster. */
async function start(overrides: ScaleConfig) {
  const rt = await startRuntime({ ...open, ...overrides })
  const url = `http://127.0.0.1:${(await rt.listen()).port}`
  const api = client(() => rt)
  return {
    rt,
    token: async () => (await api.user()).token,
    // The SDK calls `${baseURL}/v1/messages`, so the base URL has no `/v1`.
    sdk: (apiKey: string, opts: ConstructorParameters<typeof Anthropic>[0] = {}) =>
      new Anthropic({ apiKey, baseURL: url, maxRetries: 0, ...opts }),
    post: (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  }
}

/** `start` in beforeAll, stop in afterAll; the config is read late so it can use a stub's URL. */
function serve(overrides: () => ScaleConfig) {
  let served: Awaited<ReturnType<typeof start>>
  beforeAll(async () => {
    served = await start(overrides())
  }, HOOK_TIMEOUT)
  afterAll(() => served?.rt.stop(), HOOK_TIMEOUT)
  return () => served
}

/** Parse an SSE body into `{ event, data }` frames. */
const frames = async (res: Response) =>
  (await res.text())
    .split('\n\n')
    .filter(Boolean)
    .map((f) => ({ event: f.split('\n')[0]!.slice('event: '.length), data: JSON.parse(f.split('\n')[1]!.slice('data: '.length)) }))

/** Wrap `provider.stream` in place (the route holds the same object) to see the signal it gets. */
function watchSignals(provider: LlmProvider): AbortSignal[] {
  const signals: AbortSignal[] = []
  const original = provider.stream.bind(provider)
  ;(provider as { stream: LlmProvider['stream'] }).stream = (req, signal) => {
    signals.push(signal)
    return original(req, signal)
  }
  return signals
}

describe('gateway with the fake provider', () => {
  const s = serve(() => ({ llm: { fakeTokenDelay: '0 ms' } }))

  test('messages.create returns the provider reply, usage and our headers; the SDK sends the key as a bearer token', async () => {
    const token = await s().token()
    const seen: Headers[] = []
    const recording: typeof fetch = Object.assign((input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers))
      return fetch(input, init)
    }, fetch)
    const { data: msg, response } = await s()
      .sdk(token, { fetch: recording })
      .messages.create(ask('Hello gateway, how are you'))
      .withResponse()
    expect(seen[0]!.get('authorization')).toBe(`Bearer ${token}`)
    expect(seen[0]!.get('x-api-key')).toBeNull()
    expect(msg.id).toMatch(/^msg_[0-9a-f]{32}$/)
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-test', stop_reason: 'end_turn', stop_sequence: null })
    expect(blocks(msg)).toEqual([{ type: 'text', text: fakeReply('Hello gateway, how are you') }])
    expect(msg.usage.input_tokens).toBeGreaterThan(0)
    expect(msg.usage.output_tokens).toBe(fakeReply('Hello gateway, how are you').split(' ').length)
    expect(response.headers.get('x-scale-max-tokens')).toBe('256')
    expect(response.headers.get('ratelimit-limit')).toBe('20')
  })

  test('the token is also accepted in x-api-key; text blocks and a system prompt are read', async () => {
    const token = await s().token()
    const res = await s().post(
      {
        ...ask([
          { type: 'text', text: 'first part' },
          { type: 'text', text: 'second part' },
        ]),
        system: [{ type: 'text', text: 'Be brief.' }],
      },
      { 'x-api-key': token },
    )
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.content[0].text).toBe(fakeReply('first part second part'))
    // System and message words: the fake counts whitespace-separated words.
    expect(body.usage.input_tokens).toBe(6)
  })

  test('messages.stream: text events add up to finalMessage, in the exact event order', async () => {
    const token = await s().token()
    const stream = s().sdk(token).messages.stream(ask('stream this please'))
    const texts: string[] = []
    stream.on('text', (t) => texts.push(t))
    const final = await stream.finalMessage()
    expect(texts.length).toBeGreaterThan(1)
    expect(blocks(final)).toEqual([{ type: 'text', text: texts.join('') }])
    expect(texts.join('')).toBe(fakeReply('stream this please'))
    expect(final.stop_reason).toBe('end_turn')
    expect(final.usage.input_tokens).toBe(3)
    expect(final.usage.output_tokens).toBe(texts.length)

    const res = await s().post({ ...ask('stream this please'), stream: true }, { authorization: `Bearer ${token}` })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const fs = await frames(res)
    for (const f of fs) expect(f.data.type).toBe(f.event)
    const order = fs.map((f) => f.event).filter((e, i, all) => e !== all[i - 1])
    expect(order).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(fs[0]!.data.message).toMatchObject({ role: 'assistant', content: [], stop_reason: null, model: 'claude-test' })
    expect(fs[1]!.data).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    expect(fs.find((f) => f.event === 'content_block_delta')!.data.delta.type).toBe('text_delta')
    expect(fs.at(-2)!.data).toMatchObject({
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: texts.length },
    })
  })

  test('no token, a bad token or a non-bearer Authorization is a 401 in Anthropic’s shape', async () => {
    const none = await s().post(ask('hi'))
    expect(none.status).toBe(401)
    expect(await none.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.stringContaining('x-api-key') },
    })
    expect((await s().post(ask('hi'), { authorization: 'Basic abc' })).status).toBe(401)

    const err = await s()
      .sdk('not-a-token')
      .messages.create(ask('hi'))
      .catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(err.status).toBe(401)
    expect(err.type).toBe('authentication_error')
  })

  test('bad input is a 400 invalid_request_error naming the field, never a 500', async () => {
    const token = await s().token()
    const auth = { 'x-api-key': token }
    const cases: [unknown, string][] = [
      [{ ...ask('hi'), max_tokens: 0 }, 'max_tokens'],
      [{ model: 'm', max_tokens: 10 }, 'messages'],
      [{ ...ask('hi'), messages: [] }, 'messages'],
      [{ ...ask('hi'), messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role'],
      [ask([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } } as never]), '"image" are not supported'],
      [{ ...ask('hi'), tools: [{ name: 'x', input_schema: { type: 'object' } }] }, 'tools'],
      [{ ...ask('hi'), temperature: 3 }, 'temperature'],
      ['{not json', 'not valid JSON'],
    ]
    for (const [body, says] of cases) {
      const res = await s().post(body, auth)
      expect(res.status).toBe(400)
      const json = await res.json()
      expect(json.type).toBe('error')
      expect(json.error.type).toBe('invalid_request_error')
      expect(json.error.message).toContain(says)
    }
    const err = await s()
      .sdk(token)
      .messages.create(ask([{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } } as never]))
      .catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.BadRequestError)
  })

  test('temperature, top_p, top_k, stop_sequences and metadata are accepted (and ignored)', async () => {
    // Raw: the SDK 1.14 types no longer offer temperature, top_p or top_k, but older clients send them.
    const tuned = { temperature: 0.2, top_p: 0.9, top_k: 5, stop_sequences: ['zulu'], metadata: { user_id: 'u1' } }
    const res = await s().post({ ...ask('tuned'), ...tuned }, { 'x-api-key': await s().token() })
    expect(res.status).toBe(200)
    expect((await res.json()).content).toEqual([{ type: 'text', text: fakeReply('tuned') }])
  })
})

describe('gateway limits by tier', () => {
  const tiers: ScaleConfig['tiers'] = {
    free: { requestsPerMinute: { api: 100, sync: 100 }, chatPerMinute: 2, maxTokens: 5 },
    paid: { requestsPerMinute: { api: 100, sync: 100 }, chatPerMinute: 10, maxTokens: 50 },
  }
  const s = serve(() => ({ tiers, llm: { fakeTokenDelay: '0 ms' } }))

  test('max_tokens above the tier limit is capped: the reply stops at it with stop_reason max_tokens', async () => {
    const token = await s().token()
    const { data, response } = await s().sdk(token).messages.create(ask('a long question', 4096)).withResponse()
    expect(response.headers.get('x-scale-max-tokens')).toBe('5')
    expect(data.stop_reason).toBe('max_tokens')
    expect(data.usage.output_tokens).toBe(5)
    expect(blocks(data)).toEqual([{ type: 'text', text: fakeReply('a long question').split(' ').slice(0, 5).join(' ') }])
  })

  test('the third call in a minute is a 429 with Retry-After: the SDK raises RateLimitError', async () => {
    const token = await s().token()
    const sdk = s().sdk(token)
    await sdk.messages.create(ask('one'))
    // Streaming calls count too.
    await sdk.messages.stream(ask('two')).finalMessage()
    const err = await sdk.messages.create(ask('three')).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.RateLimitError)
    expect(err.status).toBe(429)
    expect(err.type).toBe('rate_limit_error')
    expect(Number(err.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(err.headers.get('ratelimit-remaining')).toBe('0')
    // Another user has a budget of their own.
    expect(
      (
        await s()
          .sdk(await s().token())
          .messages.create(ask('four'))
      ).type,
    ).toBe('message')
  })

  test('a malformed call uses up budget like any other (refused calls are not free)', async () => {
    const token = await s().token()
    for (let i = 0; i < 2; i++) expect((await s().post({ model: 'm' }, { 'x-api-key': token })).status).toBe(400)
    expect((await s().post({ model: 'm' }, { 'x-api-key': token })).status).toBe(429)
  })
})

describe('gateway streams aborted by the client', () => {
  const s = serve(() => ({ llm: { fakeTokenDelay: '50 ms' } }))

  test('aborting mid-stream aborts the provider stream', async () => {
    const signals = watchSignals(s().rt.deps.provider)
    const stream = s()
      .sdk(await s().token())
      .messages.stream(ask('a slow reply that takes a while'))
    const ended = stream.finalMessage().catch((e) => e)
    await new Promise<void>((r) => stream.on('text', () => r()))
    expect(signals).toHaveLength(1)
    expect(signals[0]!.aborted).toBe(false)
    stream.abort()
    expect(await ended).toBeInstanceOf(Anthropic.APIUserAbortError)
    const until = Date.now() + 5000
    while (!signals[0]!.aborted && Date.now() < until) await Bun.sleep(10)
    expect(signals[0]!.aborted).toBe(true)
  })
})

describe('gateway through the Anthropic provider (stub)', () => {
  let stub: AnthropicStub
  beforeAll(async () => {
    stub = await startAnthropicStub()
  })
  afterAll(() => stub?.stop())
  const tiers: ScaleConfig['tiers'] = {
    free: { requestsPerMinute: { api: 100, sync: 100 }, chatPerMinute: 100, maxTokens: 50 },
    paid: { requestsPerMinute: { api: 100, sync: 100 }, chatPerMinute: 100, maxTokens: 500 },
  }
  const s = serve(() => ({ tiers, llm: { provider: 'anthropic', apiKey: 'stub-key', baseURL: stub.url, maxRetries: 0 } }))

  test('the stub gets the model, capped max_tokens, system and messages; the SDK gets its text', async () => {
    stub.reset()
    stub.enqueue(reply('Hello from the stub.', { inputTokens: 11 }))
    const msg = await s()
      .sdk(await s().token())
      .messages.create({
        model: 'claude-sonnet-test',
        max_tokens: 4096,
        system: 'Be brief.',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: [{ type: 'text', text: 'How are you?' }] },
        ],
      })
    expect(blocks(msg)).toEqual([{ type: 'text', text: 'Hello from the stub.' }])
    expect(msg.usage).toMatchObject({ input_tokens: 11, output_tokens: 4 })
    const [req] = stub.requests
    expect(req!.headers.authorization).toBe('Bearer stub-key')
    expect(req!.body).toMatchObject({
      model: 'claude-sonnet-test',
      max_tokens: 50,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'How are you?' },
      ],
    })
  })

  test('streams the stub’s deltas through; an upstream 529 before the stream is an OverloadedError', async () => {
    stub.reset()
    stub.enqueue(reply('one two three'), overloaded())
    const sdk = s().sdk(await s().token())
    const texts: string[] = []
    const final = await sdk.messages
      .stream(ask('go'))
      .on('text', (t) => texts.push(t))
      .finalMessage()
    expect(texts).toEqual(['one ', 'two ', 'three'])
    expect(blocks(final)).toEqual([{ type: 'text', text: 'one two three' }])

    const err = await sdk.messages.create(ask('again')).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.OverloadedError)
    expect(err.status).toBe(529)
    expect(err.type).toBe('overloaded_error')
  })

  test('an upstream failure mid-stream becomes an error event after the text already sent', async () => {
    stub.reset()
    stub.enqueue(errorEventAfter(2))
    const texts: string[] = []
    const stream = s()
      .sdk(await s().token())
      .messages.stream(ask('go'))
      .on('text', (t) => texts.push(t))
    const err = await stream.finalMessage().catch((e) => e)
    expect(texts).toEqual(['one ', 'two '])
    expect(err).toBeInstanceOf(Anthropic.APIError)
    expect(err.type).toBe('overloaded_error')
  })

  test('a client abort mid-stream closes the upstream request', async () => {
    stub.reset()
    stub.enqueue(slow('one two three four five six seven eight nine ten', 100))
    const stream = s()
      .sdk(await s().token())
      .messages.stream(ask('slowly'))
    const ended = stream.finalMessage().catch((e) => e)
    await new Promise<void>((r) => stream.on('text', () => r()))
    stream.abort()
    expect(await ended).toBeInstanceOf(Anthropic.APIUserAbortError)
    const outcome = await Promise.race([stub.requests[0]!.outcome, Bun.sleep(5000).then(() => 'timeout')])
    expect(outcome).toBe('closed')
  })
})
