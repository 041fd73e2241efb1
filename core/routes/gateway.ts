/**
 * `POST /v1/messages`: an Anthropic Messages API gateway in front of the configured provider,
 * so the official SDK works with `baseURL` set to the runtime. A pass-through with auth and
 * limits: nothing is stored in conversations.
 *
 * - Auth: the runtime's own token in `x-api-key` or `Authorization: Bearer` (the SDK 1.14
 *   sends its `apiKey` as a bearer token).
 * - Limits: each call, refused ones included, counts against the user's `chat` tier rule
 *   through the same access path as the chat route, so both share one budget. `max_tokens` above the tier's `maxTokens` is capped, not
 *   refused; the `x-scale-max-tokens` header carries the limit used, and a reply cut by it
 *   ends with `stop_reason: 'max_tokens'`.
 * - Errors: unlike the rest of the API, this route answers in Anthropic's error shape
 *   `{ type: 'error', error: { type, message } }` with Anthropic's statuses (529 for
 *   overloaded), so the SDK raises its own classes (AuthenticationError, RateLimitError,
 *   ...). That is why the body is parsed and checked here rather than by Elysia: its
 *   validation errors would go through the global handler, which writes our shape.
 * - Streaming: errors before the first provider event are plain HTTP errors; after it, an
 *   `event: error` frame ends the stream. The input token count is only known at the end, so
 *   `message_start` reports 0 and `message_delta` carries the real count (the SDK's
 *   `finalMessage()` takes it from there).
 */
import { Elysia } from 'elysia'
import type { Logger } from 'pino'
import type { ResolvedConfig } from '../config/resolved.ts'
import { unavailableFrom } from '../outage.ts'
import { isScaleError } from '../errors.ts'
import type { Access } from '../http/access.ts'
import { rateLimited, rateLimitHeaders } from '../http/access.ts'
import { parseJson, readBody } from '../http/body.ts'
import type { AppDeps } from '../http/deps.ts'
import {
  anthropicErrorType,
  errorPayload,
  messageBody,
  MessagesRequest,
  messageId,
  parseMessagesRequest,
  sseFrame,
} from '../llm/messages-wire.ts'
import { collectReply, type LlmProvider, type ProviderEvent } from '../llm/provider.ts'

/** The gateway's path: it reads its own body, so the core's JSON parser leaves it alone. */
export const GATEWAY_PATH = '/v1/messages'

type ErrorOf = (e: unknown) => { status: number; type: string; message: string; headers?: Record<string, string> }

/** Thrown values as Anthropic's error body; unknown failures are logged, never shown. */
function anthropicErrors(logger: Logger) {
  const errorOf: ErrorOf = (e) => {
    if (isScaleError(e)) return { ...anthropicErrorType(e), message: e.message, headers: e.headers }
    const unavailable = unavailableFrom(e)
    if (unavailable) return errorOf(unavailable)
    logger.error({ err: e, path: GATEWAY_PATH }, 'gateway failure')
    return { status: 500, type: 'api_error', message: 'internal error; the details are in the server log' }
  }
  const errorResponse = (e: unknown, extra: Record<string, string> = {}): Response => {
    const { status, type, message, headers } = errorOf(e)
    return Response.json(errorPayload(type, message), { status, headers: { ...extra, ...headers } })
  }
  return { errorOf, errorResponse }
}

interface Call {
  id: string
  model: string
  abort: AbortController
  /** Stops listening for the client going away. */
  release: () => void
  headers: Record<string, string>
}

/** One gateway call: authenticate, charge, read the body, then answer whole or as a stream. */
async function handle(
  request: Request,
  { config, access, provider }: { config: ResolvedConfig; access: Access; provider: LlmProvider },
  errors: ReturnType<typeof anthropicErrors>,
): Promise<Response> {
  const user = await access.authenticate(request, 'gateway')
  // Counted before the body is read, like the guarded routes: a refused call costs budget too.
  const decision = await access.charge(user, 'chat')
  if (!decision.allowed) throw rateLimited(decision, 'chat')
  // Read with the body limit and checked for depth before parsing; nothing is stored, so NUL is fine.
  const body = parseJson(await readBody(request, config.server.bodyLimit), { allowNul: true })
  const { request: req, stream, model } = parseMessagesRequest(body)
  req.maxTokens = Math.min(req.maxTokens, config.tiers[user.tier].maxTokens)

  // Aborted when the client goes away (request.signal) or cancels the stream.
  const abort = new AbortController()
  const onGone = () => abort.abort(request.signal.reason)
  request.signal.addEventListener('abort', onGone, { once: true })
  const call: Call = {
    id: messageId(),
    model,
    abort,
    release: () => request.signal.removeEventListener('abort', onGone),
    headers: { ...rateLimitHeaders(decision), 'x-scale-max-tokens': String(req.maxTokens) },
  }
  const events = provider.stream(req, abort.signal)
  return stream ? streamed(call, events, errors) : whole(call, events, errors)
}

/** `stream: false`: the whole reply as one message. */
async function whole(call: Call, events: AsyncIterable<ProviderEvent>, { errorResponse }: ReturnType<typeof anthropicErrors>) {
  try {
    const reply = await collectReply(events)
    return Response.json(messageBody(call.id, call.model, reply.text, reply.stopReason ?? 'end_turn', reply), { headers: call.headers })
  } catch (e) {
    return errorResponse(e, call.headers)
  } finally {
    call.release()
  }
}

/** `stream: true`: errors before the first provider event are plain HTTP errors, after it an error frame. */
async function streamed(call: Call, source: AsyncIterable<ProviderEvent>, { errorOf, errorResponse }: ReturnType<typeof anthropicErrors>) {
  const events = source[Symbol.asyncIterator]()
  let first: IteratorResult<ProviderEvent>
  try {
    first = await events.next()
  } catch (e) {
    call.release()
    return errorResponse(e, call.headers)
  }
  return new Response(sseBody(call, first, events, errorOf), {
    headers: { ...call.headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
  })
}

/** The SSE frames of one reply, in the order the Anthropic SDK expects. */
function sseBody(
  call: Call,
  first: IteratorResult<ProviderEvent>,
  events: AsyncIterator<ProviderEvent>,
  errorOf: ErrorOf,
): ReadableStream<Uint8Array> {
  const { id, model, abort, release } = call
  return new ReadableStream<Uint8Array>({
    async start(c) {
      const send = (type: string, data?: Record<string, unknown>) => {
        if (abort.signal.aborted) return
        try {
          c.enqueue(sseFrame(type, data))
        } catch {
          // Cancelled between the check and the write.
        }
      }
      send('message_start', {
        message: { ...messageBody(id, model, '', '', { inputTokens: 0, outputTokens: 0 }), content: [], stop_reason: null },
      })
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
      send('ping')
      let usage = { inputTokens: 0, outputTokens: 0, stopReason: 'end_turn' }
      try {
        for (let r = first; !r.done; r = await events.next()) {
          const ev = r.value
          if (ev.type === 'delta') send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ev.text } })
          else usage = { ...ev, stopReason: ev.stopReason ?? 'end_turn' }
        }
        send('content_block_stop', { index: 0 })
        send('message_delta', {
          delta: { stop_reason: usage.stopReason, stop_sequence: null },
          usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
        })
        send('message_stop')
      } catch (e) {
        // A client that left needs no error frame; everyone else learns why the stream ended.
        if (!abort.signal.aborted) {
          const { type, message } = errorOf(e)
          send('error', { error: { type, message } })
        }
      } finally {
        release()
        try {
          c.close()
        } catch {
          // Already cancelled by the client.
        }
      }
    },
    cancel(reason) {
      abort.abort(reason)
      // Ends a provider paused between events; its finally blocks release the upstream call.
      void events.return?.().catch(() => {})
    },
  })
}

/**
 * Mount the gateway.
 *
 * @example
 * new Elysia().use(gatewayRoutes(deps))
 */
export function gatewayRoutes({ config, access, provider, logger }: AppDeps) {
  const errors = anthropicErrors(logger)
  const deps = { config, access, provider }
  // A plain copy for the OpenAPI document, without TypeBox's symbol keys.
  const jsonSchema = JSON.parse(JSON.stringify(MessagesRequest))
  return new Elysia({ name: 'routes-gateway', tags: ['gateway'] }).post(
    GATEWAY_PATH,
    async ({ request, set }) => {
      let res: Response
      try {
        res = await handle(request, deps, errors)
      } catch (e) {
        res = errors.errorResponse(e)
      }
      // Keeps the access log and metrics in step with the status we answer.
      set.status = res.status
      return res
    },
    {
      // Parsed in `handle`, so parse errors also come out in Anthropic's shape.
      parse: 'none',
      detail: {
        summary: 'Anthropic Messages API (pass-through, nothing stored)',
        description:
          'Token in x-api-key or Authorization: Bearer. max_tokens is capped at the tier limit (x-scale-max-tokens). ' +
          'Errors use the Anthropic shape { type: "error", error: { type, message } }.',
        requestBody: { required: true, content: { 'application/json': { schema: jsonSchema } } },
      },
    },
  )
}
