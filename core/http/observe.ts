/**
 * Per-request plumbing every route gets: a request id (taken from `X-Request-Id` when sane),
 * the header-size limit (JSON 431), a JSON access log line and the Prometheus request metrics.
 * (The body-size limit is the body reader's, body.ts: 413 from Content-Length before the
 * body is read, or as soon as a chunked body passes it, in each route's own error shape.)
 */
import { Elysia } from 'elysia'
import type { Logger } from 'pino'
import { createAccessLog } from '../observability/access-log.ts'
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

// One callback for every request, not a closure per request.
let counted = 0
const count = (value: string, name: string) => {
  counted += name.length + value.length + 4
}
function headerBytes(headers: Headers): number {
  counted = 0
  headers.forEach(count)
  return counted
}

/**
 * Request ids for requests that bring none: a per-process random prefix and a counter, shaped
 * like a UUID (8-4-4-4-12 hex), so ids stay unique across instances without a
 * `crypto.randomUUID()` per request.
 */
export function requestIds(): () => string {
  const prefix = crypto.randomUUID().slice(0, 24)
  // Counted from 2^44 to 2^48 - 1: always 12 hex digits, no padding to do.
  const FIRST = 0x100000000000
  let n = FIRST
  return () => {
    n = n === 0xffffffffffff ? FIRST : n + 1
    return prefix + n.toString(16)
  }
}

/** The request's id: its own `X-Request-Id` when sane, else the next of `nextId`. */
export function requestIdOf(request: Request, nextId: () => string): string {
  const given = request.headers.get('x-request-id')
  return given && ID.test(given) ? given : nextId()
}

/** The JSON 431 for headers over {@link MAX_HEADER_BYTES}; undefined when they fit. */
export function headersTooLarge(request: Request, id: string): Response | undefined {
  const size = headerBytes(request.headers)
  if (size <= MAX_HEADER_BYTES) return undefined
  return errorResponse(431, 'HEADERS_TOO_LARGE', `the request headers are ${size} bytes; the limit is ${MAX_HEADER_BYTES}`, {
    'x-request-id': id,
  })
}

/** What the request hooks keep on Elysia's per-request context. */
interface Observed {
  reqId?: string
  startedAt?: number
  route?: string
  user?: { userId: string }
}

export function observe(opts: { logger: Logger; metrics: HttpMetrics; logRequests: boolean; metricsEnabled: boolean; drain: Drain }) {
  const { logger, metrics, logRequests, metricsEnabled, drain } = opts
  const nextId = requestIds()
  const accessLog = createAccessLog(logger)
  // Probes and scrapes (routes/operations.ts) get a request id and the header check, nothing
  // else: no log line, no metrics, no request scope.
  const operations = new Set(['/health/live', '/health/ready', ...(metricsEnabled ? ['/metrics'] : [])])
  return new Elysia({ name: 'scale-observe' })
    .onRequest((ctx) => {
      const { request, set } = ctx
      const id = requestIdOf(request, nextId)
      set.headers['x-request-id'] = id
      // While draining, a load balancer's keep-alive connection is closed after its answer, so
      // its next request opens a new connection, which goes elsewhere once this one stops listening.
      if (drain.draining) set.headers.connection = 'close'
      const refused = headersTooLarge(request, id)
      if (refused) return refused
      if (operations.has((ctx as { path?: string }).path ?? new URL(request.url).pathname)) return
      const o = ctx as Observed
      o.reqId = id
      o.startedAt = performance.now()
      // The slow-query log reads the request id and route from here (core/observability/request-context.ts).
      enterRequest({ reqId: id })
    })
    // A block body: Elysia awaits a hook written as `=> call(...)`, which costs a turn.
    .onTransform({ as: 'global' }, ({ route }) => {
      setRequestRoute(route)
    })
    .onAfterResponse({ as: 'global' }, (ctx) => {
      const o = ctx as Observed
      if (o.startedAt === undefined) return
      const seconds = (performance.now() - o.startedAt) / 1000
      const route = o.route || 'unmatched'
      const status = Number(ctx.set.status) || 200
      const method = ctx.request.method
      if (metricsEnabled) metrics.record(method, route, status, seconds)
      if (logRequests) {
        accessLog({ reqId: o.reqId!, method, route, status, ms: Math.round(seconds * 10000) / 10, userId: o.user?.userId })
      }
    })
}
