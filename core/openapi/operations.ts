/**
 * What the route schemas cannot say about an operation: its summary when the route has
 * none, success answers that are not validated JSON (SSE, 204, text), and error statuses
 * beyond those the document derives from auth, parameters and bodies. A route's own
 * `detail` wins over this table.
 */
import type { ErrorResponse } from './components.ts'

export interface OperationNotes {
  summary?: string
  description?: string
  /** Success answers to add when the route declares none for that status. */
  responses?: Record<string, object>
  /** Error answers beyond the derived ones. */
  errors?: ErrorResponse[]
  /** Security when the route does its own authentication (not the guard's `auth`). */
  security?: Record<string, string[]>[]
}

const text = (type: string, description: string, schema: object = { type: 'string' }) => ({ description, content: { [type]: { schema } } })
const json = (description: string, schema: object) => text('application/json', description, schema)
const sse = (description: string) => text('text/event-stream', description)

const JobRef = {
  type: 'object',
  required: ['id', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
  },
}
/** The 202's message: the stored user message, as the message list gives it. */
const UserMessage = {
  type: 'object',
  required: ['id', 'conversationId', 'role', 'content', 'createdAt'],
  properties: {
    id: { type: 'string' },
    conversationId: { type: 'string' },
    role: { type: 'string', enum: ['user', 'assistant'] },
    content: { type: 'string' },
    createdAt: { type: 'string' },
  },
}
const Health = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready', 'draining'] },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
}

/** Keyed by `METHOD /path` as the document writes it (`{id}`, no trailing slash). */
export const operationNotes: Record<string, OperationNotes> = {
  'GET /health/live': {
    summary: 'Liveness: 200 while the process runs',
    responses: { 200: json('The process runs', { type: 'object', required: ['status'], properties: { status: { const: 'live' } } }) },
  },
  'GET /health/ready': {
    summary: "Readiness: each plugin's check; 503 while draining or when one is down",
    responses: { 200: json('Ready', Health), 503: json('Not ready, or draining', Health) },
  },
  'GET /metrics': { summary: 'Prometheus metrics', responses: { 200: text('text/plain', 'Prometheus text format') } },
  'POST /v1/conversations': { summary: 'Create a conversation' },
  'GET /v1/conversations': { summary: 'List conversations, newest first' },
  'GET /v1/conversations/{id}': { summary: 'Read a conversation' },
  'PATCH /v1/conversations/{id}': { summary: 'Rename a conversation' },
  'DELETE /v1/conversations/{id}': { summary: 'Delete a conversation', responses: { 204: { description: 'Deleted' } } },
  'GET /v1/conversations/{id}/messages': { summary: 'List messages, oldest first' },
  'POST /v1/conversations/{id}/messages': {
    responses: {
      202: json('The message is stored and its reply job started', {
        type: 'object',
        required: ['message', 'job'],
        properties: { message: UserMessage, job: JobRef },
      }),
      200: sse('With Accept: text/event-stream, the reply as server-sent events (id: seq, data: event JSON)'),
    },
    errors: ['Conflict'],
  },
  'GET /v1/jobs/{id}': { summary: "Read a reply job's status" },
  'GET /v1/jobs/{id}/events': { responses: { 200: sse('The events: delta, then done or error, each with jobId and seq') } },
  'POST /v1/jobs/{id}/cancel': {
    summary: 'Cancel a reply job',
    responses: {
      202: json('Cancel requested', {
        type: 'object',
        required: ['id', 'cancelled'],
        properties: { id: { type: 'string', format: 'uuid' }, cancelled: { const: true } },
      }),
    },
  },
  'POST /v1/auth/register': { errors: ['Conflict'] },
  'POST /v1/auth/login': { errors: ['Unauthorized'] },
  'POST /v1/messages': {
    responses: {
      200: {
        description: 'An Anthropic Message, or with stream: true its server-sent events',
        content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': { schema: { type: 'string' } } },
      },
    },
  },
  'GET /v1/admin/status': { errors: ['Forbidden'] },
  'GET /v1/ws': {
    summary: 'WebSocket: send messages and receive reply events (upgrade)',
    description:
      'Upgrade to a WebSocket with the token in ?token= or as a Sec-WebSocket-Protocol value (bearer, <token>). ' +
      'Frames are JSON: send, resume, cancel, ping from the client; accepted, delta, done, error, rate_limited, pong from the server.',
    responses: { 101: { description: 'Switching protocols' } },
    security: [{ bearerAuth: [] }, { tokenQuery: [] }],
    errors: ['Forbidden'],
  },
}
