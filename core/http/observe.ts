/**
 * Per-request plumbing every route gets: a request id (taken from `X-Request-Id` when sane),
 * the header-size limit (JSON 431), a JSON access log line and the Prometheus request metrics.
 * (The body-size limit is the body reader's, body.ts: 413 from Content-Length before the
 * body is read, or as soon as a chunked body passes it, in each route's own error shape.)
 */
import { Elysia } from 'elysia'
import type { Logger } from 'pino'
import type { HttpMetrics } from '../observability/metrics.ts'
import { enterRequest, setRequestRoute } from '../observability/request-context.ts'
import type { Drain } from './drain.ts'
import { errorResponse } from './errors.ts'

const ID = /^[\w.:-]{1,128}$/

/**
 * Request headers above this (names and values together) get a JSON 431. The runtime's HTTP
 * parser lets through up to `HEADER_PARSER_BYTES` (core/runtime/bun.ts) so that this check,
 * not the parser's bare 431, answers; beyond that the parser still answers alone.
 */
export const MAX_HEADER_BYTES = 16 * 1024

function headerBytes(headers: Headers): number {
  let n = 0
  headers.forEach((value, name) => {
    n += name.length + value.length + 4
  })
  return n
}

interface Started {
  id: string
  at: number
}

export function observe(opts: { logger: Logger; metrics: HttpMetrics; logRequests: boolean; metricsEnabled: boolean; drain: Drain }) {
  const { logger, metrics, logRequests, metricsEnabled, drain } = opts
  const started = new WeakMap<Request, Started>()
  return new Elysia({ name: 'scale-observe' })
    .onRequest(({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given && ID.test(given) ? given : crypto.randomUUID()
      started.set(request, { id, at: performance.now() })
      // The slow-query log reads the request id and route from here (core/observability/request-context.ts).
      enterRequest({ reqId: id })
      set.headers['x-request-id'] = id
      // While draining, a load balancer's keep-alive connection is closed after its answer, so
      // its next request opens a new connection, which goes elsewhere once this one stops listening.
      if (drain.draining) set.headers.connection = 'close'
      const size = headerBytes(request.headers)
      if (size > MAX_HEADER_BYTES) {
        return errorResponse(431, 'HEADERS_TOO_LARGE', `the request headers are ${size} bytes; the limit is ${MAX_HEADER_BYTES}`, {
          'x-request-id': id,
        })
      }
    })
    .onTransform({ as: 'global' }, ({ route }) => setRequestRoute(route))
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
        logger.info(
          { reqId: s.id, method: ctx.request.method, route, status, ms: Math.round(seconds * 10000) / 10, userId: user?.userId },
          'request',
        )
      }
    })
}
