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

type Set = { headers: Record<string, unknown> }

/** The decision's headers on the answer; a refusal throws RATE_LIMITED. */
function apply(d: RateLimitDecision, group: string, set: Set): void {
  rateLimitHeaders(d, set.headers)
  if (!d.allowed) throw rateLimited(d, group)
}

export function createGuard(access: Access) {
  async function admitLater(request: Request, set: Set, group: RouteGroup, known: Principal | undefined): Promise<Principal> {
    const user = known ?? (await access.authenticate(request, 'http'))
    apply(await access.charge(user, group), group, set)
    return user
  }

  // Both charge in `transform`, the last step before Elysia validates the request: a request
  // refused for its body, query, params or headers still counts against the caller's limit.
  // (Macro `resolve` and `beforeHandle` run after validation.) The principal rides on the
  // context from `transform` to the handler.
  // Hooks only read properties of the context, never pass it on whole: Elysia reads their
  // source to decide what to prepare for each request, and a hook that hands the context to a
  // function gets cookies, query and headers parsed for every request.
  return new Elysia({ name: 'scale-guard' }).macro({
    auth: (group: RouteGroup) => ({
      // For the OpenAPI document: who may call the route and which limit it counts against.
      detail: { security: [{ bearerAuth: [] }], 'x-rate-limit-group': group } as object,
      // Most requests are decided without I/O (a remembered token, a limiter that can answer
      // now); only the others pay for the promises of the full path.
      transform(ctx) {
        const now = access.admitNow(ctx.request, 'http', group)
        if (!now?.decision) {
          return admitLater(ctx.request, ctx.set, group, now?.user).then((user) => {
            ;(ctx as { user?: Principal }).user = user
          })
        }
        apply(now.decision, group, ctx.set)
        ;(ctx as { user?: Principal }).user = now.user
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
