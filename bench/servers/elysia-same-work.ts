/**
 * Reference: the pipeline route's work written by hand on bare Elysia, with none of the
 * runtime's generality. Per request, what the API asks of any server that answers
 * `GET /v1/bench/noop` (and what the runtime does there):
 * - an `X-Request-Id`, the client's own when sane, else a per-process prefix and a counter;
 * - the bearer token parsed and looked up in a map of known tokens (the runtime's token cache);
 * - one unit of the caller's per-minute limit in a sliding window in memory, with the
 *   `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers;
 * - a JSON access line on stdout (buffered, written without blocking) and the request counted
 *   by method, route and status with its latency in a histogram.
 *
 * Three hooks, as any Elysia app that logs every answer (errors too) has them: `onRequest`,
 * the route's `beforeHandle` and `onAfterResponse`. What it leaves out: the database (the
 * runtime has its embedded one open), plugins, token verification on a cache miss, drain,
 * the header-size check. So it is the floor an Elysia server doing this work sits on, on
 * this machine, not a target: the runtime's distance to it is what its generality costs.
 */
import { write } from 'node:fs'
import { Elysia } from 'elysia'

const ID = /^[\w.:-]{1,128}$/
const BEARER = /^Bearer\s+(\S+)$/i
const prefix = crypto.randomUUID().slice(0, 24)
let counter = 0x100000000000

/** The bench's one token (its clients send `Bearer bench`), as the runtime's token cache holds it. */
const users = new Map([['bench', { userId: crypto.randomUUID(), tier: 'free' }]])

// A sliding window per key: the previous and the current fixed window, weighted (as the runtime's memory limiter).
const LIMIT = 1_000_000_000
const WINDOW_MS = 60_000
const windows = new Map<string, { window: number; prev: number; curr: number }>()
function charge(key: string): { remaining: number; resetAt: number } {
  const t = Date.now()
  const index = Math.floor(t / WINDOW_MS)
  let w = windows.get(key)
  if (!w) windows.set(key, (w = { window: index, prev: 0, curr: 0 }))
  else if (w.window !== index) {
    w.prev = w.window === index - 1 ? w.curr : 0
    w.curr = 0
    w.window = index
  }
  const elapsed = t - index * WINDOW_MS
  const used = (w.prev * (WINDOW_MS - elapsed)) / WINDOW_MS + w.curr
  w.curr++
  return { remaining: Math.max(0, Math.floor(LIMIT - used - 1)), resetAt: (index + 1) * WINDOW_MS }
}

// Access lines gather in a string and go to stdout in one asynchronous write once 64 KiB are
// waiting or 10 ms after the first, as a careful hand-written server would batch them.
let pending = ''
let timer: ReturnType<typeof setTimeout> | undefined
let writing = false
function flush(): void {
  timer = undefined
  if (writing || !pending) return
  const out = pending
  pending = ''
  writing = true
  write(1, out, () => {
    writing = false
    if (pending) flush()
  })
}
function writeLine(line: string): void {
  pending += line
  if (pending.length >= 65_536) flush()
  else timer ??= setTimeout(flush, 10)
}
// The ISO time changes once a millisecond; lines within one share it.
let lastMs = -1
let lastIso = ''
function isoNow(): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastIso = new Date(now).toISOString()
  }
  return lastIso
}

// Request metrics: a count per method, route and status, and a latency histogram per method and route.
const BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const series = new Map<string, { statuses: Map<number, number>; buckets: number[]; sum: number; count: number }>()
function record(method: string, route: string, status: number, seconds: number): void {
  const key = `${method} ${route}`
  let s = series.get(key)
  if (!s) series.set(key, (s = { statuses: new Map(), buckets: new Array(BOUNDS.length + 1).fill(0), sum: 0, count: 0 }))
  s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1)
  let i = 0
  while (i < BOUNDS.length && seconds > BOUNDS[i]!) i++
  s.buckets[i]!++
  s.sum += seconds
  s.count++
}

interface Seen {
  reqId: string
  startedAt: number
  route?: string
  userId?: string
}

const unauthorized = () =>
  new Response('{"error":{"code":"UNAUTHORIZED","message":"a bearer token is required"}}', {
    status: 401,
    headers: { 'content-type': 'application/json' },
  })

const app = new Elysia()
  .onRequest((ctx) => {
    const given = ctx.request.headers.get('x-request-id')
    const id = given && ID.test(given) ? given : prefix + (counter++).toString(16)
    ctx.set.headers['x-request-id'] = id
    const seen = ctx as unknown as Seen
    seen.reqId = id
    seen.startedAt = performance.now()
  })
  .onAfterResponse((ctx) => {
    const seen = ctx as unknown as Seen
    if (!seen.route) return
    const seconds = (performance.now() - seen.startedAt) / 1000
    const status = Number(ctx.set.status) || 200
    const method = ctx.request.method
    record(method, seen.route, status, seconds)
    writeLine(
      `{"level":30,"time":"${isoNow()}","reqId":"${seen.reqId}","method":"${method}","route":"${seen.route}","status":${status},"ms":${Math.round(seconds * 10000) / 10}${seen.userId ? `,"userId":"${seen.userId}"` : ''},"msg":"request"}\n`,
    )
  })
  .get('/health/live', () => ({ status: 'live' }))
  .get('/v1/bench/noop', () => ({ ok: true }), {
    beforeHandle: (ctx) => {
      const seen = ctx as unknown as Seen
      seen.route = '/v1/bench/noop'
      const token = BEARER.exec(ctx.request.headers.get('authorization') ?? '')?.[1]
      const user = token === undefined ? undefined : users.get(token)
      if (!user) return unauthorized()
      seen.userId = user.userId
      const d = charge(`u:${user.userId}:api`)
      ctx.set.headers['ratelimit-limit'] = String(LIMIT)
      ctx.set.headers['ratelimit-remaining'] = String(d.remaining)
      ctx.set.headers['ratelimit-reset'] = String(Math.max(0, Math.ceil((d.resetAt - Date.now()) / 1000)))
    },
  })

app.listen({ port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' })
