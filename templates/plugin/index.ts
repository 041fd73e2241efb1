/**
 * __PACKAGE__: a scale-runtime plugin. It adds `GET /v1/__NAME__` (authenticated, counted
 * against the caller's `api` limit) answering with the configured greeting.
 *
 * @example
 * // config/scale.ts
 * plugins: [['__PACKAGE__', { greeting: 'hello' }]]
 */
import { Elysia } from 'elysia'
import { definePlugin, Type } from 'scale-runtime/plugin'

export default definePlugin({
  manifest: {
    name: '__NAME__', // unique, kebab-case
    core: '__CORE_RANGE__', // the scale-runtime versions this plugin supports
    provides: [], // slots it fills, e.g. ['rateLimit']
    requires: { services: [] }, // 'postgres' | 'redis', and other plugins by name
  },
  // Checked at start-up: a wrong or unknown option stops the runtime with PLUGIN_OPTIONS_INVALID.
  options: Type.Object(
    {
      greeting: Type.String({ default: 'hello', minLength: 1, description: 'a non-empty greeting' }),
    },
    { additionalProperties: false },
  ),
  create: (options) => {
    let stopped = false
    return {
      setup: () => ({
        app: ({ guard }) =>
          new Elysia({ name: '__PACKAGE__' })
            .use(guard)
            .get('/v1/__NAME__', ({ user }) => ({ says: options.greeting, to: user.userId }), { auth: 'api' }),
      }),
      health: () => (stopped ? { status: 'down', detail: 'stopped' } : 'ok'),
      stop: () => {
        stopped = true // idempotent: safe to call twice
      },
    }
  },
})
