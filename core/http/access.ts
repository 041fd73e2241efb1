/**
 * Who is calling and whether it fits their limit: the one path every channel goes through
 * (the HTTP guard, the WebSocket upgrade and its `send` frames, the Messages API gateway).
 *
 * - {@link Access.authenticate}: the token from where the channel carries it, verified.
 * - {@link Access.charge}: a user's route group, under their tier's rule, with a cost.
 * - {@link Access.chargeAddress}: the per-address limit of routes without a user.
 *
 * Rules are built once from the tier table; the limiter gets the route group as data, and a
 * refusal is counted in `rate_limited_total{group}` here, whatever the channel.
 */
import type { Counter } from 'prom-client'
import type { ResolvedConfig } from '../config/resolved.ts'
import { ScaleError, unauthorized } from '../errors.ts'
import type { RateLimitDecision, RateLimiter, RateLimitRule } from '../ports/rate-limiter.ts'
import type { SessionStore } from '../ports/session.ts'
import type { Principal, TokenService } from '../services/tokens.ts'
import { clientIp } from './client-ip.ts'

export type RouteGroup = 'api' | 'sync' | 'chat'
/** Where a token comes from: `http` a bearer header; `gateway` also `x-api-key`; `socket` also `?token=` and a subprotocol. */
export type Channel = 'http' | 'gateway' | 'socket'

const MINUTE = 60_000
/** The longest `?token=` accepted on the WebSocket upgrade. */
const MAX_QUERY_TOKEN = 4096

/** Rules built once from the tier table (every tier it has); the hot path only looks them up. */
export function tierRules(config: ResolvedConfig): Record<string, Record<RouteGroup, RateLimitRule>> {
  const out: Record<string, Record<RouteGroup, RateLimitRule>> = {}
  for (const [tier, t] of Object.entries(config.tiers)) {
    out[tier] = {
      api: { limit: t.requestsPerMinute.api, windowMs: MINUTE },
      sync: { limit: t.requestsPerMinute.sync, windowMs: MINUTE },
      chat: { limit: t.chatPerMinute, windowMs: MINUTE },
    }
  }
  return out
}

/** The decision's `RateLimit-*` headers (and `Retry-After` on a refusal), written into `into` (a new object by default). */
export function rateLimitHeaders(d: RateLimitDecision, into: Record<string, unknown> = {}): Record<string, string> {
  into['ratelimit-limit'] = String(d.limit)
  into['ratelimit-remaining'] = String(d.remaining)
  into['ratelimit-reset'] = String(Math.max(0, Math.ceil((d.resetAt - Date.now()) / 1000)))
  if (!d.allowed) into['retry-after'] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)))
  return into as Record<string, string>
}

/** The RATE_LIMITED error for a refused decision, with its headers. */
export function rateLimited(d: RateLimitDecision, group: string): ScaleError {
  const message = `rate limit of ${d.limit} per minute reached for ${group}; retry in ${Math.ceil(d.retryAfterMs / 1000)} s`
  return new ScaleError('RATE_LIMITED', message, { headers: rateLimitHeaders(d) })
}

export function bearer(header: string | undefined | null): string | undefined {
  if (!header) return undefined
  const m = /^Bearer\s+(\S+)$/i.exec(header)
  return m?.[1]
}

/** The subprotocols a browser offered. */
function offeredProtocols(request: Request): string[] {
  return (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim())
}

/** A token offered as a subprotocol is the one shaped like a JWT. */
const jwtShaped = (p: string) => p.split('.').length === 3

/** The token of a request on `channel`, undefined when it carries none. */
export function tokenOf(request: Request, channel: Channel): string | undefined {
  const h = request.headers
  if (channel === 'http') return bearer(h.get('authorization'))
  if (channel === 'gateway') return h.get('x-api-key') || bearer(h.get('authorization'))
  const query = new URL(request.url).searchParams.get('token')
  if (query) {
    if (query.length > MAX_QUERY_TOKEN)
      throw new ScaleError('VALIDATION_FAILED', `query.token: longer than ${MAX_QUERY_TOKEN} characters`)
    return query
  }
  return bearer(h.get('authorization')) ?? offeredProtocols(request).find(jwtShaped)
}

/**
 * The subprotocol a WebSocket handshake echoes when its token came as one (a browser only
 * completes the handshake if the server picks one of its protocols): `bearer` when offered,
 * else the token itself; undefined when the token came in the query or a header.
 */
export function socketProtocol(request: Request): string | undefined {
  if (new URL(request.url).searchParams.get('token') || bearer(request.headers.get('authorization'))) return undefined
  const offered = offeredProtocols(request)
  const token = offered.find(jwtShaped)
  if (!token) return undefined
  return offered.includes('bearer') ? 'bearer' : token
}

const MISSING: Record<Channel, () => ScaleError> = {
  http: () => unauthorized(),
  gateway: () => unauthorized('send the runtime token in x-api-key or Authorization: Bearer'),
  socket: () => unauthorized('a token is required: ?token=<token> or the Sec-WebSocket-Protocol header'),
}

export interface AccessDeps {
  config: ResolvedConfig
  tokens: TokenService
  limiter: RateLimiter
  /** `rate_limited_total{group}`: incremented on every refusal. */
  refused: Counter<'group'>
  /** The socket peer of a request, from the runtime adapter; undefined for in-process requests. */
  clientAddress?: (request: Request) => string | undefined
  /** A store with `prefetch` has the user's session read in the same tick as the charge (one round trip for both). */
  session?: SessionStore
}

export interface Access {
  /** The caller of `request` on `channel`; UNAUTHORIZED without a valid token. */
  authenticate(request: Request, channel: Channel): Promise<Principal>
  /** Take `cost` units (default 1) of `user`'s `group` limit. A refusal is counted, not thrown. */
  charge(user: Principal, group: RouteGroup, cost?: number): Promise<RateLimitDecision>
  /**
   * The hot path's first try, with no I/O: the caller when their token is remembered
   * ({@link TokenService.known}), and their charge of one unit when the limiter can decide now
   * ({@link RateLimiter.consumeNow}). Undefined when the token needs verifying (then
   * `authenticate`); no `decision` when the limiter needs I/O (then `charge`: nothing was taken).
   */
  admitNow(request: Request, channel: Channel, group: RouteGroup): { user: Principal; decision?: RateLimitDecision } | undefined
  /** One unit of the per-address limit (routes without a user). A refusal is counted, not thrown. */
  chargeAddress(request: Request): Promise<RateLimitDecision>
  /** Count a refusal decided elsewhere (the per-user socket cap). */
  refuse(group: string): void
}

/**
 * @example
 * const access = createAccess({ config, tokens, limiter: slots.rateLimit, refused: metrics.rateLimited })
 * const user = await access.authenticate(request, 'gateway')
 * const d = await access.charge(user, 'chat')
 * if (!d.allowed) throw rateLimited(d, 'chat')
 */
export function createAccess({ config, tokens, limiter, refused, clientAddress, session }: AccessDeps): Access {
  const rules = tierRules(config)
  const anonymousRule: RateLimitRule = { limit: config.anonymous.requestsPerMinute, windowMs: MINUTE }
  const hops = config.server.trustedProxyHops
  if (!session?.prefetch) session = undefined
  // Label children resolved once, not per refusal.
  const counters = new Map<string, { inc(): void }>()
  const refuse = (group: string) => {
    let c = counters.get(group)
    if (!c) counters.set(group, (c = refused.labels(group)))
    c.inc()
  }
  const counted = (d: RateLimitDecision, group: string) => {
    if (!d.allowed) refuse(group)
    return d
  }

  const rule = (user: Principal, group: RouteGroup): RateLimitRule => {
    const r = rules[user.tier]?.[group]
    if (!r) throw new Error(`no rate-limit rule for tier ${user.tier}, group ${group}`)
    return r
  }
  const consumeNow = limiter.consumeNow?.bind(limiter)

  return {
    admitNow(request, channel, group) {
      const token = tokenOf(request, channel)
      const user = token === undefined ? undefined : tokens.known(token)
      if (!user) return undefined
      const decision = consumeNow?.(`u:${user.userId}:${group}`, rule(user, group), { group, cost: 1 })
      if (!decision) return { user }
      session?.prefetch?.(user.userId)
      return { user, decision: counted(decision, group) }
    },
    async authenticate(request, channel) {
      const token = tokenOf(request, channel)
      if (!token) throw MISSING[channel]()
      return tokens.verify(token)
    },
    async charge(user, group, cost = 1) {
      const decision = limiter.consume(`u:${user.userId}:${group}`, rule(user, group), { group, cost })
      // Same tick as the limiter's command: on one auto-pipelined connection both go in one write.
      session?.prefetch?.(user.userId)
      return counted(await decision, group)
    },
    async chargeAddress(request) {
      const ip = clientIp(clientAddress?.(request), request.headers.get('x-forwarded-for'), hops)
      return counted(await limiter.consume(`ip:${ip}`, anonymousRule, { group: 'anonymous', cost: 1 }), 'anonymous')
    },
    refuse,
  }
}
