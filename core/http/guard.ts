/**
 * The per-route guard, as two Elysia macros:
 * - `auth: 'api' | 'sync' | 'chat'`: a valid bearer token, then the user's tier limit for
 *   that route group; adds `user` to the context.
 * - `anonymous: true`: the per-address limit for routes without a user (register, login).
 * Routes with neither (health, metrics, OpenAPI) are never limited.
 */
import { Elysia } from 'elysia'
import type { ResolvedConfig } from '../config/resolved.ts'
import type { Tier } from '../types.ts'
import { ScaleError, unauthorized } from '../errors.ts'
import type { RateLimitDecision, RateLimiter, RateLimitRule } from '../ports/rate-limiter.ts'
import type { Principal, TokenService } from '../services/tokens.ts'
import { clientIp } from './client-ip.ts'

export type RouteGroup = 'api' | 'sync' | 'chat'

const MINUTE = 60_000

/** Rules built once from the tier table; the hot path only looks them up. */
export function tierRules(config: ResolvedConfig): Record<Tier, Record<RouteGroup, RateLimitRule>> {
  const rules = (tier: Tier) => {
    const t = config.tiers[tier]
    return {
      api: { limit: t.requestsPerMinute.api, windowMs: MINUTE },
      sync: { limit: t.requestsPerMinute.sync, windowMs: MINUTE },
      chat: { limit: t.chatPerMinute, windowMs: MINUTE },
    }
  }
  return { free: rules('free'), paid: rules('paid') }
}

export function rateLimitHeaders(d: RateLimitDecision, now = Date.now()): Record<string, string> {
  const h: Record<string, string> = {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((d.resetAt - now) / 1000))),
  }
  if (!d.allowed) h['retry-after'] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
  return h
}

export function rateLimited(d: RateLimitDecision, what: string): ScaleError {
  return new ScaleError('RATE_LIMITED', `${what}; retry in ${Math.ceil(d.retryAfterMs / 1000)} s`, { headers: rateLimitHeaders(d) })
}

export function bearer(header: string | undefined | null): string | undefined {
  if (!header) return undefined
  const m = /^Bearer\s+(\S+)$/i.exec(header)
  return m?.[1]
}

export interface GuardDeps {
  config: ResolvedConfig
  tokens: TokenService
  limiter: RateLimiter
  onLimited?: (group: string) => void
  /** The socket peer of a request, from the runtime adapter; undefined for in-process requests. */
  clientAddress?: (request: Request) => string | undefined
}

export function createGuard({ config, tokens, limiter, onLimited, clientAddress }: GuardDeps) {
  const rules = tierRules(config)
  const anonymousRule: RateLimitRule = { limit: config.anonymous.requestsPerMinute, windowMs: MINUTE }
  const hops = config.server.trustedProxyHops

  const limit = async (key: string, rule: RateLimitRule, group: string, set: { headers: Record<string, unknown> }) => {
    const d = await limiter.consume(key, rule)
    Object.assign(set.headers, rateLimitHeaders(d))
    if (!d.allowed) {
      onLimited?.(group)
      throw rateLimited(d, `rate limit of ${rule.limit} per minute reached for ${group}`)
    }
  }

  // Both charge in `transform`, the last step before Elysia validates the request: a request
  // refused for its body, query, params or headers still counts against the caller's limit.
  // (Macro `resolve` and `beforeHandle` run after validation.)
  const principals = new WeakMap<Request, Principal>()
  return new Elysia({ name: 'scale-guard' }).macro({
    auth: (group: RouteGroup) => ({
      // For the OpenAPI document: who may call the route and which limit it counts against.
      detail: { security: [{ bearerAuth: [] }], 'x-rate-limit-group': group } as object,
      async transform({ request, set }) {
        const token = bearer(request.headers.get('authorization'))
        if (!token) throw unauthorized()
        const user = await tokens.verify(token)
        await limit(`u:${user.userId}:${group}`, rules[user.tier][group], group, set)
        principals.set(request, user)
      },
      resolve: ({ request }): { user: Principal } => ({ user: principals.get(request)! }),
    }),
    anonymous: {
      detail: { security: [], 'x-rate-limit-group': 'anonymous' } as object,
      async transform({ request, set }) {
        const ip = clientIp(clientAddress?.(request), request.headers.get('x-forwarded-for'), hops)
        await limit(`ip:${ip}`, anonymousRule, 'anonymous', set)
      },
    },
  })
}

export type Guard = ReturnType<typeof createGuard>
