/**
 * `POST /v1/messages`: an Anthropic Messages API gateway in front of the configured provider,
 * so the official SDK works with `baseURL` set to the runtime. A pass-through with auth and
 * limits: nothing is stored in conversations.
 *
 * - Auth: the runtime's own token in `x-api-key` or `Authorization: Bearer` (the SDK 1.14
 *   sends its `apiKey` as a bearer token).
 * - Limits: each call, refused ones included, counts against the user's `chat` tier rule, on
 *   the same key as the chat route, so both share one budget. `max_tokens` above the tier's `maxTokens` is capped, not
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
import type { AppDeps } from '../http/deps.ts'
import { bearer, rateLimited, rateLimitHeaders, tierRules } from '../http/guard.ts'
import { databaseUnavailable } from '../db/errors.ts'
import { isScaleError, unauthorized } from '../errors.ts'
import { parseJson, readBody } from '../http/body.ts'
import {
  anthropicErrorType,
  errorPayload,
  messageBody,
  MessagesRequest,
  messageId,
  parseMessagesRequest,
  sseFrame,
} from '../llm/messages-wire.ts'
import { collectReply, type ProviderEvent } from '../llm/provider.ts'

/** The gateway's path: it reads its own body, so the core's JSON parser leaves it alone. */
export const GATEWAY_PATH = '/v1/messages'

/**
 * Mount the gateway.
 *
 * @example
 * new Elysia().use(gatewayRoutes(deps))
 */
export function gatewayRoutes({ config, tokens, slots, provider, logger, metrics }: AppDeps) {
  const rules = tierRules(config)
  // A plain copy for the OpenAPI document, without TypeBox's symbol keys.
  const jsonSchema = JSON.parse(JSON.stringify(MessagesRequest))

  /** A thrown value as Anthropic's error body; unknown failures are logged, never shown. */
  function errorOf(e: unknown): { status: number; type: string; message: string; headers?: Record<string, string> } {
    if (isScaleError(e)) return { ...anthropicErrorType(e), message: e.message, headers: e.headers }
    const unavailable = databaseUnavailable(e)
    if (unavailable) return errorOf(unavailable)
    logger.error({ err: e, path: GATEWAY_PATH }, 'gateway failure')
    return { status: 500, type: 'api_error', message: 'internal error; the details are in the server log' }
  }

  function errorResponse(e: unknown, extra: Record<string, string> = {}): Response {
    const { status, type, message, headers } = errorOf(e)
    return Response.json(errorPayload(type, message), { status, headers: { ...extra, ...headers } })
  }

  async function handle(request: Request): Promise<Response> {
    const token = request.headers.get('x-api-key') || bearer(request.headers.get('authorization'))
    if (!token) throw unauthorized('send the runtime token in x-api-key or Authorization: Bearer')
    const user = await tokens.verify(token)

    // Counted before the body is read, like the guarded routes: a refused call costs budget too.
    const decision = await slots.rateLimit.consume(`u:${user.userId}:chat`, rules[user.tier].chat)
    if (!decision.allowed) {
      metrics.rateLimited.inc({ group: 'chat' })
      throw rateLimited(decision, `rate limit of ${decision.limit} chat calls per minute reached`)
    }
    // Read with the body limit and checked for depth before parsing; nothing is stored, so NUL is fine.
    const body = parseJson(await readBody(request, config.server.bodyLimit), { allowNul: true })
    const { request: req, stream, model } = parseMessagesRequest(body)
    req.maxTokens = Math.min(req.maxTokens, config.tiers[user.tier].maxTokens)
    const headers = { ...rateLimitHeaders(decision), 'x-scale-max-tokens': String(req.maxTokens) }

    // Aborted when the client goes away (request.signal) or cancels the stream.
    const abort = new AbortController()
    const onGone = () => abort.abort(request.signal.reason)
    request.signal.addEventListener('abort', onGone, { once: true })
    const release = () => request.signal.removeEventListener('abort', onGone)
    const id = messageId()

    if (!stream) {
      try {
        const reply = await collectReply(provider.stream(req, abort.signal))
        return Response.json(messageBody(id, model, reply.text, reply.stopReason ?? 'end_turn', reply), { headers })
      } catch (e) {
        return errorResponse(e, headers)
      } finally {
        release()
      }
    }

    const events = provider.stream(req, abort.signal)[Symbol.asyncIterator]()
    let first: IteratorResult<ProviderEvent>
    try {
      first = await events.next()
    } catch (e) {
      release()
      return errorResponse(e, headers)
    }
    return new Response(sseBody(id, model, first, events, abort, release), {
      headers: { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    })
  }

  function sseBody(
    id: string,
    model: string,
    first: IteratorResult<ProviderEvent>,
    events: AsyncIterator<ProviderEvent>,
    abort: AbortController,
    release: () => void,
  ): ReadableStream<Uint8Array> {
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

  return new Elysia({ name: 'routes-gateway', tags: ['gateway'] }).post(
    GATEWAY_PATH,
    async ({ request, set }) => {
      let res: Response
      try {
        res = await handle(request)
      } catch (e) {
        res = errorResponse(e)
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
