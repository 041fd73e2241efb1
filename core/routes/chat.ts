/**
 * The chat turn over HTTP: `POST /v1/conversations/:id/messages` (202, or the reply as SSE
 * with `Accept: text/event-stream`), and the reply job's status, events and cancel.
 */
import { Elysia, t } from 'elysia'
import type { AppDeps } from '../http/deps.ts'
import { sseResponse } from '../http/sse.ts'
import { ScaleError } from '../errors.ts'
import { IdParams } from './schemas.ts'

const JobParams = t.Object({ id: t.String({ format: 'uuid', description: 'a job id (UUID)' }) })
const JobStatus = t.Union([t.Literal('queued'), t.Literal('running'), t.Literal('done'), t.Literal('failed'), t.Literal('cancelled')])
const Job = t.Object({
  id: t.String(),
  status: JobStatus,
  conversationId: t.String(),
  messageId: t.Optional(t.String()),
  position: t.Optional(t.Integer({ description: 'place in the waiting line while queued (1 = next)' })),
})

const wantsStream = (accept: string | undefined) => !!accept && accept.includes('text/event-stream')

/** `Last-Event-ID` (SSE reconnect) or `?afterSeq=`; the larger wins. */
function afterSeq(header: string | undefined, query: number | undefined): number {
  const fromHeader = header === undefined ? 0 : Number(header)
  if (!Number.isInteger(fromHeader) || fromHeader < 0) {
    throw new ScaleError('VALIDATION_FAILED', `Last-Event-ID is ${JSON.stringify(header)}; expected the seq of the last event received`)
  }
  return Math.max(fromHeader, query ?? 0)
}

export function chatRoutes({ guard, chat }: AppDeps) {
  return new Elysia({ name: 'routes-chat', prefix: '/v1', tags: ['chat'] })
    .use(guard)
    .post(
      '/conversations/:id/messages',
      async ({ params, body, headers, user, set, request }) => {
        const answer = await chat.send(user, params.id, body.content, headers['idempotency-key'])
        if (!wantsStream(headers.accept)) {
          set.status = answer.status
          return answer.body
        }
        const jobId = answer.body.job.id
        const open = await chat.openEvents(user, jobId)
        return sseResponse((signal) => open(0, signal), request.signal, 200, { 'x-job-id': jobId })
      },
      {
        auth: 'chat',
        params: IdParams,
        headers: t.Object({
          'idempotency-key': t.Optional(
            t.String({ minLength: 1, maxLength: 200, description: 'a client-chosen key; a repeat gets the first answer' }),
          ),
          accept: t.Optional(t.String()),
        }),
        body: t.Object(
          { content: t.String({ minLength: 1, maxLength: 32_000, description: '1 to 32,000 characters' }) },
          { additionalProperties: false },
        ),
        detail: { summary: 'Send a message and start the reply (202), or stream it (Accept: text/event-stream)' },
      },
    )
    .get('/jobs/:id', ({ params, user }) => chat.job(user, params.id), { auth: 'api', params: JobParams, response: { 200: Job } })
    .get(
      '/jobs/:id/events',
      async ({ params, query, headers, user, request }) => {
        const after = afterSeq(headers['last-event-id'], query.afterSeq)
        const open = await chat.openEvents(user, params.id)
        return sseResponse((signal) => open(after, signal), request.signal)
      },
      {
        auth: 'api',
        params: JobParams,
        query: t.Object(
          { afterSeq: t.Optional(t.Integer({ minimum: 0, description: 'resume after this seq' })) },
          { additionalProperties: false },
        ),
        headers: t.Object({ 'last-event-id': t.Optional(t.String({ maxLength: 20 })) }),
        detail: { summary: "The job's events as SSE; Last-Event-ID or afterSeq resumes" },
      },
    )
    .post(
      '/jobs/:id/cancel',
      async ({ params, user, set }) => {
        await chat.cancel(user, params.id)
        set.status = 202
        return { id: params.id, cancelled: true }
      },
      { auth: 'api', params: JobParams },
    )
}
