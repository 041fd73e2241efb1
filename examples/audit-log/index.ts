/**
 * scale-plugin-audit-log: one JSON line per state-changing request (POST, PUT, PATCH,
 * DELETE) with who did it, what, and the outcome. An example of a third-party plugin, made
 * with `scale-runtime new-plugin`: it imports only `scale-runtime/plugin` and is loaded by
 * package name.
 *
 * @example
 * // config/scale.ts
 * plugins: [['scale-plugin-audit-log', { path: './data/audit.log' }]]
 */
import { appendFile } from 'node:fs/promises'
import { Elysia } from 'elysia'
import { definePlugin, principalOf, Type } from 'scale-runtime/plugin'

const Method = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)),
  { description: 'an HTTP method in capitals, such as "POST"' },
)

export default definePlugin({
  manifest: { name: 'audit-log', core: '^0.1.0' },
  options: Type.Object(
    {
      path: Type.String({ default: './audit.log', minLength: 1, description: 'the file lines are appended to' }),
      methods: Type.Array(Method, { default: ['POST', 'PUT', 'PATCH', 'DELETE'], description: 'the request methods recorded' }),
    },
    { additionalProperties: false },
  ),
  create: (options) => {
    const methods = new Set<string>(options.methods)
    let pending = Promise.resolve()
    let failures = 0
    let stopped = false

    const write = (entry: Record<string, unknown>) => {
      if (stopped) return
      // Appends are chained so lines never interleave and stop() can wait for the last one.
      pending = pending.then(() => appendFile(options.path, `${JSON.stringify(entry)}\n`)).catch(() => void failures++)
    }

    return {
      setup: () => ({
        app: new Elysia({ name: 'scale-plugin-audit-log' }).onAfterResponse({ as: 'global' }, (ctx) => {
          if (!methods.has(ctx.request.method)) return
          write({
            at: new Date().toISOString(),
            method: ctx.request.method,
            route: ctx.route,
            status: Number(ctx.set.status) || 200,
            userId: principalOf(ctx)?.userId ?? null,
            requestId: ctx.set.headers['x-request-id'] ?? null,
          })
        }),
      }),
      health: () =>
        failures === 0 ? 'ok' : { status: 'degraded', detail: `${failures} audit lines could not be written to ${options.path}` },
      async stop() {
        stopped = true
        await pending
      },
    }
  },
})
