/**
 * `GET /health/live` as the runtime adapter serves it, ahead of the app (on Bun, a route of
 * Bun's own router). Each load balancer asks it every few seconds, and it needs no routing,
 * hooks, body reading or error mapping: only what every answer carries (the request id, the
 * header-size limit, `Connection: close` while draining). The app keeps its own
 * `/health/live` (routes/operations.ts) for `app.handle` and runtimes without direct routes;
 * the two answer alike, which test/e2e/live-probe.test.ts checks.
 */
import type { Drain } from './drain.ts'
import { headersTooLarge, requestIdOf, requestIds } from './observe.ts'

export const LIVE_PATH = '/health/live'
/** The liveness answer, here and in the app's route. */
export const LIVE_ANSWER = { status: 'live' } as const
const LIVE_BODY = JSON.stringify(LIVE_ANSWER)
/** What Elysia sends with an object it serializes. */
const JSON_TYPE = 'application/json;charset=utf-8'

export function liveProbe(drain: Drain): (request: Request) => Response {
  const nextId = requestIds()
  return (request) => {
    const id = requestIdOf(request, nextId)
    // While draining, the connection is closed after the answer, as every answer asks then (observe.ts).
    const refused = headersTooLarge(request, id)
    if (refused) {
      if (drain.draining) refused.headers.set('connection', 'close')
      return refused
    }
    const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'x-request-id': id }
    if (drain.draining) headers.connection = 'close'
    return new Response(LIVE_BODY, { headers })
  }
}
