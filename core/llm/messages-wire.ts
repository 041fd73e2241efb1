/** The Anthropic Messages API wire format, as the gateway speaks it: request schema, replies, SSE frames and errors. */
// Plain TypeBox, not Elysia's `t`: Elysia's numbers also accept numeric strings (meant for
// query strings), which let `"max_tokens": "-5"` through unchecked.
import { type Static, Type as t } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ScaleError, quote } from '../errors.ts'
import { preview } from '../http/validation.ts'
import type { Turn } from '../ports/session.ts'
import type { ProviderRequest } from './provider.ts'

// Blocks are loosely typed here so an image or tool block gets a message naming its type
// (see `textOf`) rather than TypeBox's "Expected union value".
const Block = t.Object({ type: t.String(), text: t.Optional(t.String()) })
const Content = t.Union([t.String(), t.Array(Block)], { description: 'a string or an array of text blocks' })

/**
 * `POST /v1/messages` body. Unknown fields are tolerated and ignored, as are `temperature`,
 * `top_p`, `top_k`, `stop_sequences` and `metadata`: they are checked for shape, but
 * `ProviderRequest` has no place for them, so no provider receives them.
 */
export const MessagesRequest = t.Object({
  model: t.String({ minLength: 1, maxLength: 256 }),
  max_tokens: t.Integer({ minimum: 1, description: 'capped at the tier maxTokens' }),
  messages: t.Array(t.Object({ role: t.Union([t.Literal('user'), t.Literal('assistant')]), content: Content }), { minItems: 1 }),
  system: t.Optional(Content),
  stream: t.Optional(t.Boolean()),
  temperature: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
  top_p: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
  top_k: t.Optional(t.Integer({ minimum: 0 })),
  stop_sequences: t.Optional(t.Array(t.String())),
  metadata: t.Optional(t.Object({ user_id: t.Optional(t.Union([t.String(), t.Null()])) })),
})
export type MessagesRequest = Static<typeof MessagesRequest>

const check = TypeCompiler.Compile(MessagesRequest)

/** Fields that would change what the reply means; refused rather than silently dropped. */
const UNSUPPORTED = ['tools', 'tool_choice', 'thinking'] as const

const invalid = (message: string) => new ScaleError('VALIDATION_FAILED', message)

function textOf(content: string | { type: string; text?: string }[], where: string): string {
  if (typeof content === 'string') return content
  return content
    .map((b, i) => {
      if (b.type !== 'text') {
        throw invalid(`${where}.${i}: content blocks of type ${quote(b.type)} are not supported by this gateway; send text blocks`)
      }
      if (typeof b.text !== 'string') throw invalid(`${where}.${i}.text: a text block needs a string "text"`)
      return b.text
    })
    .join('\n')
}

/**
 * Check a parsed body and turn it into a provider request. Text blocks are joined with a
 * newline; `maxTokens` is `max_tokens` as sent (the caller caps it).
 * Throws `VALIDATION_FAILED` naming the first bad field.
 *
 * @example
 * const { request, stream } = parseMessagesRequest(JSON.parse(text))
 */
export function parseMessagesRequest(body: unknown): { request: ProviderRequest; stream: boolean; model: string } {
  if (!check.Check(body)) {
    const e = check.Errors(body).First()
    const where = e?.path ? e.path.slice(1).replaceAll('/', '.') : 'body'
    const shown = e ? preview(e.value) : undefined
    const got = shown === undefined ? '' : `; got ${shown}`
    throw invalid(`${where}: ${e?.message ?? 'not valid'}${got}`)
  }
  for (const field of UNSUPPORTED) {
    const value = (body as Record<string, unknown>)[field]
    if (value != null && !(Array.isArray(value) && value.length === 0)) {
      throw invalid(`${field}: not supported by this gateway (text in, text out only)`)
    }
  }
  const messages: Turn[] = body.messages.map((m, i) => ({ role: m.role, content: textOf(m.content, `messages.${i}.content`) }))
  const system = body.system === undefined ? undefined : textOf(body.system, 'system')
  return {
    request: { model: body.model, messages, maxTokens: body.max_tokens, ...(system ? { system } : {}) },
    stream: body.stream === true,
    model: body.model,
  }
}

/** A message id in Anthropic's style (`msg_` and 32 hex digits). */
export const messageId = () => `msg_${crypto.randomUUID().replaceAll('-', '')}`

/** The non-streaming reply body. */
export function messageBody(
  id: string,
  model: string,
  text: string,
  stopReason: string,
  usage: { inputTokens: number; outputTokens: number },
) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
  }
}

const enc = new TextEncoder()

/** One SSE frame: `event: <type>\ndata: <json>\n\n`, with `type` repeated in the data as the API does. */
export function sseFrame(type: string, data: Record<string, unknown> = {}): Uint8Array {
  return enc.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
}

/** Anthropic's error types, by our codes; anything unlisted is an `api_error` 500. */
const ERROR_TYPES: Partial<Record<string, { status: number; type: string }>> = {
  VALIDATION_FAILED: { status: 400, type: 'invalid_request_error' },
  UNAUTHORIZED: { status: 401, type: 'authentication_error' },
  FORBIDDEN: { status: 403, type: 'permission_error' },
  NOT_FOUND: { status: 404, type: 'not_found_error' },
  PAYLOAD_TOO_LARGE: { status: 413, type: 'request_too_large' },
  RATE_LIMITED: { status: 429, type: 'rate_limit_error' },
  CANCELLED: { status: 499, type: 'api_error' },
  UPSTREAM_ERROR: { status: 502, type: 'api_error' },
  // 529, not our usual 503: the SDK maps 529 to OverloadedError.
  OVERLOADED: { status: 529, type: 'overloaded_error' },
  UNAVAILABLE: { status: 529, type: 'overloaded_error' },
  TIMEOUT: { status: 504, type: 'timeout_error' },
}

/** Status and Anthropic error type for a coded error. */
export function anthropicErrorType(e: ScaleError): { status: number; type: string } {
  return ERROR_TYPES[e.code] ?? { status: 500, type: 'api_error' }
}

/** `{ type: 'error', error: { type, message } }`, the body of every error on the gateway. */
export const errorPayload = (type: string, message: string) => ({ type: 'error', error: { type, message } })
