/** Reference: bare Elysia (on Bun, or on Deno through `Deno.serve`) with the same routes and JSON as the runtime, and nothing else. */
import { Elysia } from 'elysia'

const unauthorized = () =>
  new Response('{"error":{"code":"UNAUTHORIZED","message":"a bearer token is required"}}', {
    status: 401,
    headers: { 'content-type': 'application/json' },
  })

declare const Deno:
  { serve(opts: { port: number; hostname: string }, handler: (r: Request) => Response | Promise<Response>): unknown } | undefined

const app = new Elysia()
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
