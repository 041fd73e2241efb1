/**
 * Per-request plumbing every route gets: a request id (taken from `X-Request-Id` when sane),
 * the body-size limit (413 before the body is read), a JSON access log line and the
 * Prometheus request metrics.
 */
import { Elysia } from 'elysia'
import type { Logger } from 'pino'
import type { HttpMetrics } from '../observability/metrics.ts'
import { ScaleError } from '../errors.ts'
import { errorResponse } from './errors.ts'

const ID = /^[\w.:-]{1,128}$/

interface Started {
  id: string
  at: number
}

export function observe(opts: { logger: Logger; metrics: HttpMetrics; bodyLimit: number; logRequests: boolean; metricsEnabled: boolean }) {
  const { logger, metrics, bodyLimit, logRequests, metricsEnabled } = opts
  const started = new WeakMap<Request, Started>()
  return new Elysia({ name: 'scale-observe' })
    .onRequest(({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given && ID.test(given) ? given : crypto.randomUUID()
      started.set(request, { id, at: performance.now() })
      set.headers['x-request-id'] = id
      const length = request.headers.get('content-length')
      if (length !== null && Number(length) > bodyLimit) {
        return errorResponse(413, 'PAYLOAD_TOO_LARGE', `the request body is ${length} bytes; the limit is ${bodyLimit}`, { 'x-request-id': id })
      }
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      // Bodies without Content-Length (chunked) are counted while read.
      if (request.headers.has('content-length') || !request.body) return
      const text = await readLimited(request.body, bodyLimit)
      if (!contentType?.includes('json')) return text
      try {
        return text ? JSON.parse(text) : undefined
      } catch {
        throw new ScaleError('VALIDATION_FAILED', 'the request body is not valid JSON')
      }
    })
    .onAfterResponse({ as: 'global' }, (ctx) => {
      const s = started.get(ctx.request)
      if (!s) return
      const seconds = (performance.now() - s.at) / 1000
      const route = (ctx as { route?: string }).route || 'unmatched'
      const status = Number(ctx.set.status) || 200
      if (metricsEnabled) {
        metrics.requests.inc({ method: ctx.request.method, route, status })
        metrics.latency.observe({ method: ctx.request.method, route }, seconds)
      }
      if (logRequests) {
        const user = (ctx as { user?: { userId: string } }).user
        logger.info({ reqId: s.id, method: ctx.request.method, route, status, ms: Math.round(seconds * 10000) / 10, userId: user?.userId }, 'request')
      }
    })
}

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw new ScaleError('PAYLOAD_TOO_LARGE', `the request body is over the limit of ${limit} bytes`)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}
