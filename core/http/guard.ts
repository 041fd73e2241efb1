/**
 * The per-route guard, as two Elysia macros over the one access path (access.ts):
 * - `auth: 'api' | 'sync' | 'chat'`: a valid bearer token, then the user's tier limit for
 *   that route group; adds `user` to the context.
 * - `anonymous: true`: the per-address limit for routes without a user (register, login).
 * Routes with neither (health, metrics, OpenAPI) are never limited.
 */
import { Elysia } from 'elysia'
import type { RateLimitDecision } from '../ports/rate-limiter.ts'
import type { Principal } from '../services/tokens.ts'
import { type Access, rateLimited, rateLimitHeaders, type RouteGroup } from './access.ts'

export { bearer, rateLimited, rateLimitHeaders, tierRules, type RouteGroup } from './access.ts'

/** The decision's headers on the answer; a refusal throws RATE_LIMITED. */
function apply(d: RateLimitDecision, group: string, set: { headers: Record<string, unknown> }): void {
  Object.assign(set.headers, rateLimitHeaders(d))
  if (!d.allowed) throw rateLimited(d, group)
}

export function createGuard(access: Access) {
  // Both charge in `transform`, the last step before Elysia validates the request: a request
  // refused for its body, query, params or headers still counts against the caller's limit.
  // (Macro `resolve` and `beforeHandle` run after validation.) The principal rides on the
  // context from `transform` to the handler.
  return new Elysia({ name: 'scale-guard' }).macro({
    auth: (group: RouteGroup) => ({
      // For the OpenAPI document: who may call the route and which limit it counts against.
      detail: { security: [{ bearerAuth: [] }], 'x-rate-limit-group': group } as object,
      async transform(ctx) {
        const user = await access.authenticate(ctx.request, 'http')
        apply(await access.charge(user, group), group, ctx.set)
        ;(ctx as { user?: Principal }).user = user
      },
      resolve: (ctx): { user: Principal } => ({ user: (ctx as { user?: Principal }).user! }),
    }),
    anonymous: {
      detail: { security: [], 'x-rate-limit-group': 'anonymous' } as object,
      async transform({ request, set }) {
        apply(await access.chargeAddress(request), 'anonymous', set)
      },
    },
  })
}

export type Guard = ReturnType<typeof createGuard>
