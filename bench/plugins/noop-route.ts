/** Bench-only plugin: `GET /v1/bench/noop`, an authenticated route that does no work of its own. */
import { Elysia } from 'elysia'
import type { ScalePlugin } from 'scale-runtime/plugin'

/**
 * Mounted through the plugin contract with the core's guard, so a request runs the whole
 * hook chain a real route runs (request id, auth, rate limit, metrics, access log) and
 * only the handler is empty.
 */
export default function noopRoute(): ScalePlugin {
  return {
    manifest: { name: 'bench-noop-route', core: '^0.1.0' },
    setup: () => ({
      app: ({ guard }) => new Elysia({ name: 'bench-noop-route' }).use(guard).get('/v1/bench/noop', () => ({ ok: true }), { auth: 'api' }),
    }),
  }
}
