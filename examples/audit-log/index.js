/**
 * scale-plugin-audit-log: one JSON line per state-changing request (POST, PUT, PATCH,
 * DELETE) with who did it, what, and the outcome. An example of a third-party plugin: it
 * depends on nothing from scale-runtime but the contract, and is loaded by package name.
 *
 * @example
 * // config/scale.ts
 * plugins: [['scale-plugin-audit-log', { path: './data/audit.log' }]]
 */
import { appendFile } from 'node:fs/promises'
import { Elysia } from 'elysia'

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * @param {{ path?: string, methods?: string[] }} [options]
 *   `path`: file to append to (@default './audit.log');
 *   `methods`: which methods to record (@default POST, PUT, PATCH, DELETE).
 * @returns {import('../../core/plugins/contract.ts').ScalePlugin}
 */
export default function auditLog(options = {}) {
  const path = options.path ?? './audit.log'
  const methods = new Set(options.methods ?? MUTATING)
  let pending = Promise.resolve()
  let failures = 0
  let stopped = false

  const write = (entry) => {
    if (stopped) return
    // Appends are chained so lines never interleave and stop() can wait for the last one.
    pending = pending.then(() => appendFile(path, `${JSON.stringify(entry)}\n`)).catch(() => void failures++)
  }

  return {
    manifest: { name: 'audit-log', core: '^0.1.0' },
    setup: () => ({
      app: new Elysia({ name: 'scale-plugin-audit-log' }).onAfterResponse({ as: 'global' }, (ctx) => {
        if (!methods.has(ctx.request.method)) return
        write({
          at: new Date().toISOString(),
          method: ctx.request.method,
          route: ctx.route,
          status: Number(ctx.set.status) || 200,
          userId: ctx.user?.userId ?? null,
          requestId: ctx.set.headers['x-request-id'] ?? null,
        })
      }),
    }),
    health: () => (failures === 0 ? 'ok' : { status: 'degraded', detail: `${failures} audit lines could not be written to ${path}` }),
    async stop() {
      stopped = true
      await pending
    },
  }
}
