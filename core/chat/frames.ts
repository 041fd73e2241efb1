/**
 * WebSocket frames: the client's frames, validated with TypeBox, and the protocol-level
 * error frame (`{ type: 'error', code, message }`, without `jobId`/`seq`, so a client can
 * tell it from a job's `error` event).
 */
import { Type as T, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { checkParsed, parseJson } from '../http/body.ts'
import { preview } from '../http/validation.ts'

const Uuid = T.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'a UUID' })

const SendFrame = T.Object({
  type: T.Literal('send'),
  conversationId: Uuid,
  content: T.String({ minLength: 1, maxLength: 32_000 }),
  /** Echoed in `accepted`; also the send's idempotency key, so a resent frame starts one reply. */
  clientId: T.Optional(T.String({ minLength: 1, maxLength: 200 })),
})
const ResumeFrame = T.Object({ type: T.Literal('resume'), jobId: Uuid, afterSeq: T.Integer({ minimum: 0 }) })
const CancelFrame = T.Object({ type: T.Literal('cancel'), jobId: Uuid })
const PingFrame = T.Object({ type: T.Literal('ping') })

const schemas = { send: SendFrame, resume: ResumeFrame, cancel: CancelFrame, ping: PingFrame } as const

export type ClientFrame = Static<typeof SendFrame> | Static<typeof ResumeFrame> | Static<typeof CancelFrame> | Static<typeof PingFrame>

export interface ProtocolError {
  type: 'error'
  code: string
  message: string
  jobId?: string
  clientId?: string
}

/** Parse one frame; returns the frame or the error frame to answer with. */
export function parseFrame(raw: unknown): ClientFrame | ProtocolError {
  let value = raw
  try {
    // Elysia hands over frames it could JSON.parse already parsed: check those as values.
    if (typeof raw === 'string') value = parseJson(raw)
    else checkParsed(raw)
  } catch (e) {
    return { type: 'error', code: 'VALIDATION_FAILED', message: `frames are JSON objects, one per message: ${(e as Error).message}` }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { type: 'error', code: 'VALIDATION_FAILED', message: 'frames are JSON objects with a "type"' }
  }
  const type = (value as { type?: unknown }).type
  // Own keys only: `constructor`, `toString` or `__proto__` must not find Object's members.
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type as keyof typeof schemas] : undefined
  if (!schema) {
    return {
      type: 'error',
      code: 'VALIDATION_FAILED',
      message: `unknown frame type ${preview(type) ?? String(type)}; expected send, resume, cancel or ping`,
    }
  }
  const error = Value.Errors(schema, value).First()
  if (error) {
    const where = error.path.replace(/^\//, '') || 'frame'
    return { type: 'error', code: 'VALIDATION_FAILED', message: `${type} frame: ${where}: ${error.message}` }
  }
  return value as ClientFrame
}
