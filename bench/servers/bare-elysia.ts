/** Reference: bare Elysia (on Bun, or on Deno through `Deno.serve`) with the same routes and JSON as the runtime, and nothing else. */
import { Elysia } from 'elysia'

const unauthorized = () =>
  new Response('{"error":{"code":"UNAUTHORIZED","message":"a bearer token is required"}}', {
    status: 401,
    headers: { 'content-type': 'application/json' },
  })

declare const Deno:
  { serve(opts: { port: number; hostname: string }, handler: (r: Request) => Response | Promise<Response>): unknown } | undefined

// BARE_REQUEST_ID=1: every answer also carries an X-Request-Id, as the API requires of the
// runtime (a per-process prefix and a counter, as the runtime makes them). Shown as a second
// reference: the floor a conforming server cannot go under.
const requestIds = process.env.BARE_REQUEST_ID === '1'
const prefix = crypto.randomUUID().slice(0, 24)
let counter = 0x100000000000

// Without the flag no hook is registered at all: the plain reference stays exactly as it was.
const base = requestIds
  ? new Elysia().onRequest(({ set }) => {
      set.headers['x-request-id'] = prefix + (counter++).toString(16)
    })
  : new Elysia()

const app = base
  .get('/health/live', () => ({ status: 'live' }))
  // The trivial auth a hand-written app would have: the token is parsed out of the bearer header (as the runtime does), not verified.
  .get('/v1/bench/noop', () => ({ ok: true }), {
    beforeHandle: ({ request }) => {
      if (!/^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]) return unauthorized()
    },
  })

const at = { port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' }
// Elysia's listen() is Bun's; on Deno the same app serves through its fetch handler.
if (typeof Deno !== 'undefined') Deno.serve(at, app.fetch)
else app.listen(at)
