/**
 * A local stand-in for the Anthropic Messages API, for tests that point the official SDK (or
 * the runtime's provider) at `stub.url` instead of the real service.
 *
 * It answers `POST /v1/messages` in the real wire format, plain JSON or SSE (`message_start`,
 * `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`, `message_delta`,
 * `message_stop`). Each request takes the next behaviour from a queue (`enqueue`), or the
 * `fallback` when the queue is empty (by default a reply echoing the last user message).
 * Behaviours: a normal reply (optionally slow), an error status (429 with `retry-after-ms`,
 * 529 overloaded, 400, ...), a stream cut off after some deltas, a stream that stalls, or an
 * SSE `error` event mid-stream. Every request is recorded with its body, headers and how its
 * response ended (`completed`, `dropped` by the stub, or `closed` by the client first).
 *
 * @example
 * const stub = await startAnthropicStub()
 * stub.enqueue(rateLimited(10), reply('Hello there'))
 * const client = new Anthropic({ apiKey: 'test-key', baseURL: stub.url })
 * const msg = await client.messages.create({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
 * expect(stub.requests).toHaveLength(2)
 * await stub.stop()
 */
import { setTimeout as sleep } from 'node:timers/promises'

export type StubInterrupt =
  /** Reset the connection, without the end of the body. */
  | { afterDeltas: number; how: 'drop' }
  /** Send nothing more, keeping the connection open until the client leaves. */
  | { afterDeltas: number; how: 'stall' }
  /** Send an SSE `error` event and end the stream, as the API does when overloaded mid-reply. */
  | { afterDeltas: number; how: 'error'; type: string; message: string }

export interface StubReply {
  kind: 'reply'
  /** Text sent as one `text_delta` each; the plain JSON reply joins them. */
  chunks: string[]
  /** Reported `input_tokens`. @default words in the request's messages and system */
  inputTokens?: number
  /** @default 'end_turn' */
  stopReason?: string
  /** Wait before the response headers. @default 0 */
  headersDelayMs?: number
  /** Wait before each stream event after the first. @default 0 */
  eventDelayMs?: number
  interrupt?: StubInterrupt
}

export interface StubError {
  kind: 'error'
  status: number
  /** The API's error type: `rate_limit_error`, `overloaded_error`, `invalid_request_error`, ... */
  type: string
  message: string
  headers?: Record<string, string>
  headersDelayMs?: number
}

export type StubBehaviour = StubReply | StubError

export type StubOutcome = 'completed' | 'dropped' | 'closed'

export interface StubRequest {
  method: string
  path: string
  /** Lower-case header names. */
  headers: Record<string, string>
  /** Parsed JSON body, or `null` when it was not JSON. */
  body: any
  stream: boolean
  behaviour: StubBehaviour
  /** How the response ended; resolves once it has. */
  outcome: Promise<StubOutcome>
  /** The outcome once known, for synchronous checks. */
  settled?: StubOutcome
}

export interface AnthropicStub {
  /** Base URL for the SDK's `baseURL` (no trailing slash, no `/v1`). */
  url: string
  port: number
  requests: StubRequest[]
  /** Queue behaviours for the next requests, in order. */
  enqueue(...behaviours: StubBehaviour[]): void
  /** Behaviour for requests that find the queue empty. */
  fallback: (body: any) => StubBehaviour
  /** Resolve once `n` requests have arrived. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>
  /** Forget recorded requests and queued behaviours. */
  reset(): void
  /** Close the server and every open connection. */
  stop(): Promise<void>
}

/** Split text into word chunks, each keeping its following space. */
export function wordChunks(text: string): string[] {
  return text.match(/\S+\s*/g) ?? []
}

/** A normal reply; `text` is split into word chunks unless already a list. */
export function reply(text: string | string[], opts: Omit<Partial<StubReply>, 'kind' | 'chunks'> = {}): StubReply {
  return { kind: 'reply', chunks: typeof text === 'string' ? wordChunks(text) : text, ...opts }
}

/** A reply whose events trickle out `eventDelayMs` apart, after `headersDelayMs`. */
export function slow(text: string, eventDelayMs: number, headersDelayMs = 0): StubReply {
  return reply(text, { eventDelayMs, headersDelayMs })
}

export function apiError(status: number, type: string, message: string, headers?: Record<string, string>): StubError {
  return { kind: 'error', status, type, message, headers }
}

/** 429 with `retry-after-ms` (honoured by the SDK) and a whole-second `retry-after`. */
export function rateLimited(retryAfterMs = 10): StubError {
  return apiError(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', {
    'retry-after-ms': String(retryAfterMs),
    'retry-after': String(Math.ceil(retryAfterMs / 1000)),
  })
}

/** 529 `overloaded_error`, with a short `retry-after-ms` so SDK retries stay quick. */
export function overloaded(retryAfterMs = 10): StubError {
  return apiError(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': String(retryAfterMs) })
}

export function badRequest(message = 'max_tokens: Field required'): StubError {
  return apiError(400, 'invalid_request_error', message)
}

/** A streamed reply cut off (connection reset) after `afterDeltas` deltas. */
export function dropAfter(afterDeltas: number, text = 'one two three four five six seven eight'): StubReply {
  return reply(text, { interrupt: { afterDeltas, how: 'drop' } })
}

/** A streamed reply that goes silent after `afterDeltas` deltas, connection left open. */
export function stallAfter(afterDeltas: number, text = 'one two three four five six seven eight'): StubReply {
  return reply(text, { interrupt: { afterDeltas, how: 'stall' } })
}

/** A streamed reply that sends an SSE `error` event after `afterDeltas` deltas. */
export function errorEventAfter(afterDeltas: number, type = 'overloaded_error', message = 'Overloaded'): StubReply {
  return reply('one two three four five six seven eight', { interrupt: { afterDeltas, how: 'error', type, message } })
}

const countWords = (s: string) => s.split(/\s+/).filter(Boolean).length

function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((b) => (b && b.type === 'text' ? String(b.text) : '')).join(' ')
  return ''
}

/** The text of the last user message in a Messages API request body ('' when there is none). */
export function lastUserText(body: any): string {
  const lastUser = [...(body?.messages ?? [])].reverse().find((m: any) => m?.role === 'user')
  return contentText(lastUser?.content)
}

function defaultFallback(body: any): StubBehaviour {
  return reply(`Stub reply to: ${lastUserText(body)}`.trim())
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } })

const errorBody = (type: string, message: string) => ({ type: 'error', error: { type, message } })

/**
 * Start a stub on an ephemeral port of 127.0.0.1.
 *
 * @example
 * const stub = await startAnthropicStub({ fallback: () => reply('always this') })
 */
export async function startAnthropicStub(opts: { fallback?: (body: any) => StubBehaviour } = {}): Promise<AnthropicStub> {
  const queue: StubBehaviour[] = []
  const requests: StubRequest[] = []
  const enc = new TextEncoder()
  let seq = 0

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    // Stalled streams must stay open until the client gives up.
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const id = ++seq
      const common = { 'request-id': `req_stub_${id}` }
      const text = await req.text()
      let body: any = null
      try {
        body = JSON.parse(text)
      } catch {}
      const isMessages = req.method === 'POST' && url.pathname === '/v1/messages'
      const behaviour: StubBehaviour = !isMessages
        ? apiError(404, 'not_found_error', `${req.method} ${url.pathname} is not served by the stub`)
        : !body || typeof body.model !== 'string' || typeof body.max_tokens !== 'number' || !Array.isArray(body.messages)
          ? badRequest('model, max_tokens and messages are required')
          : (queue.shift() ?? stub.fallback(body))

      const headers: Record<string, string> = {}
      req.headers.forEach((v, k) => (headers[k] = v))
      let settle!: (o: StubOutcome) => void
      const record: StubRequest = {
        method: req.method,
        path: url.pathname,
        headers,
        body,
        stream: body?.stream === true,
        behaviour,
        outcome: new Promise<StubOutcome>((r) => (settle = r)),
      }
      const finish = (o: StubOutcome) => {
        if (record.settled) return
        record.settled = o
        settle(o)
      }
      requests.push(record)
      req.signal.addEventListener('abort', () => finish('closed'), { once: true })

      if (behaviour.headersDelayMs) await sleep(behaviour.headersDelayMs)
      if (record.settled) return new Response(null, { status: 499 })

      if (behaviour.kind === 'error') {
        finish('completed')
        return json(behaviour.status, errorBody(behaviour.type, behaviour.message), { ...common, ...behaviour.headers })
      }

      const model = String(body.model)
      const msgId = `msg_stub_${id}`
      const inputTokens =
        behaviour.inputTokens ?? countWords([contentText(body.system), ...body.messages.map((m: any) => contentText(m?.content))].join(' '))
      const stopReason = behaviour.stopReason ?? 'end_turn'
      const cut = behaviour.interrupt
      const sent = cut ? behaviour.chunks.slice(0, cut.afterDeltas) : behaviour.chunks

      if (!record.stream) {
        const message = {
          id: msgId,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: behaviour.chunks.join('') }],
          stop_reason: stopReason,
          stop_sequence: null,
          usage: { input_tokens: inputTokens, output_tokens: behaviour.chunks.length },
        }
        if (!cut) {
          finish('completed')
          return json(200, message, common)
        }
        if (cut.how === 'error') {
          finish('completed')
          return json(529, errorBody(cut.type, cut.message), common)
        }
        const partial = JSON.stringify(message).slice(0, 40)
        return new Response(
          new ReadableStream({
            async start(c) {
              c.enqueue(enc.encode(partial))
              if (cut.how !== 'drop') return
              await sleep(50)
              if (record.settled) return
              finish('dropped')
              c.error()
            },
            cancel() {
              finish('closed')
            },
          }),
          { headers: { 'content-type': 'application/json', ...common } },
        )
      }

      const frame = (event: string, data: unknown) => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      const events: Uint8Array[] = [
        frame('message_start', {
          type: 'message_start',
          message: {
            id: msgId,
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: inputTokens, output_tokens: 1 },
          },
        }),
        frame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        frame('ping', { type: 'ping' }),
        ...sent.map((t) => frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })),
      ]
      if (!cut) {
        events.push(
          frame('content_block_stop', { type: 'content_block_stop', index: 0 }),
          frame('message_delta', {
            type: 'message_delta',
            delta: { stop_reason: stopReason, stop_sequence: null },
            usage: { output_tokens: sent.length },
          }),
          frame('message_stop', { type: 'message_stop' }),
        )
      } else if (cut.how === 'error') {
        events.push(frame('error', errorBody(cut.type, cut.message)))
      }

      const delay = behaviour.eventDelayMs ?? 0
      return new Response(
        new ReadableStream({
          async start(c) {
            for (let i = 0; i < events.length; i++) {
              if (i > 0 && delay) await sleep(delay)
              if (record.settled) return
              c.enqueue(events[i]!)
            }
            if (cut?.how === 'drop') {
              // Let the client read the headers and deltas first: a reset that arrives with
              // them fails the whole request, which the SDK would retry.
              await sleep(50)
              if (record.settled) return
              finish('dropped')
              // No reason given: Bun resets the connection without logging an error.
              c.error()
            } else if (cut?.how !== 'stall') {
              finish('completed')
              c.close()
            }
          },
          cancel() {
            finish('closed')
          },
        }),
        { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...common } },
      )
    },
  })

  const stub: AnthropicStub = {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    requests,
    fallback: opts.fallback ?? defaultFallback,
    enqueue: (...b) => void queue.push(...b),
    async waitForRequests(n, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs
      while (requests.length < n) {
        if (Date.now() > until) throw new Error(`the stub saw ${requests.length} requests, expected ${n}`)
        await sleep(5)
      }
    },
    reset() {
      queue.length = 0
      requests.length = 0
    },
    async stop() {
      await server.stop(true)
    },
  }
  return stub
}
