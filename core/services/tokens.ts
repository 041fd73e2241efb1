/**
 * Access tokens: JWTs signed and checked with jose (HS256 pinned; `exp`, `iss`, `aud`
 * checked). Verified tokens are remembered until they expire, in a bounded map: jose on
 * every request would cost most of the hot-path budget. Whether the token's user is still
 * active (not disabled, not deleted) is asked again at most every `revocationCheckMs`.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose'
import type { ResolvedConfig } from '../config/resolved.ts'
import type { Tier } from '../types.ts'
import { unauthorized } from '../errors.ts'

export interface Principal {
  userId: string
  tier: Tier
  /** Epoch ms when the token expires. */
  expiresAt: number
}

export interface TokenService {
  issue(userId: string, tier: Tier): Promise<string>
  /** The token's principal; UNAUTHORIZED when it is invalid, expired, or its user is disabled or deleted. */
  verify(token: string): Promise<Principal>
  /**
   * The token's principal when it is known without any I/O or signature check: remembered,
   * unexpired, and its user found active within `revocationCheckMs`. Undefined otherwise; then
   * `verify` decides. The hot path asks this first.
   */
  known(token: string): Principal | undefined
  /** Whether the user may still act (cached for `revocationCheckMs`); for sockets opened earlier. */
  isActive(userId: string): Promise<boolean>
}

export interface TokenServiceOptions {
  /** The clock, in epoch ms. @default Date.now */
  now?: () => number
  /** Whether a user is still active (exists and is not disabled). @default every user is active */
  isActive?: (userId: string) => Promise<boolean>
}

const ALG = 'HS256'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A bounded map that drops its oldest entry when full (Maps iterate in insertion order). */
function boundedMap<V>(max: number) {
  const map = new Map<string, V>()
  return {
    get: (k: string) => map.get(k),
    delete: (k: string) => map.delete(k),
    set(k: string, v: V) {
      if (max === 0) return
      if (!map.has(k) && map.size >= max) {
        const oldest = map.keys().next().value
        if (oldest !== undefined) map.delete(oldest)
      }
      map.set(k, v)
    },
  }
}

/**
 * Issue and verify tokens.
 *
 * @example
 * const tokens = createTokenService(config.auth, secret, { isActive: (id) => users.isActive(id) })
 */
export function createTokenService(cfg: ResolvedConfig['auth'], secret: Uint8Array, opts: TokenServiceOptions = {}): TokenService {
  const now = opts.now ?? (() => Date.now())
  const remembered = boundedMap<Principal>(cfg.tokenCacheSize)
  // Per user: the last answer and when it was asked, or the lookup in flight (one per user).
  // `active` is the answer once it has arrived.
  const activity = boundedMap<{ at: number; answer: Promise<boolean>; active?: boolean }>(cfg.tokenCacheSize)

  function isActive(userId: string): Promise<boolean> {
    if (!opts.isActive) return Promise.resolve(true)
    const hit = activity.get(userId)
    if (hit && now() - hit.at < cfg.revocationCheckMs) return hit.answer
    const answer = opts.isActive(userId)
    const entry: { at: number; answer: Promise<boolean>; active?: boolean } = { at: now(), answer }
    activity.set(userId, entry)
    answer.then(
      (active) => {
        entry.active = active
      },
      // A failed lookup (database down) is not remembered: the next request asks again.
      () => {
        if (activity.get(userId) === entry) activity.delete(userId)
      },
    )
    return answer
  }

  function known(token: string): Principal | undefined {
    const p = remembered.get(token)
    if (!p) return undefined
    const t = now()
    if (p.expiresAt <= t) return undefined
    if (!opts.isActive) return p
    const a = activity.get(p.userId)
    return a?.active === true && t - a.at < cfg.revocationCheckMs ? p : undefined
  }

  async function decode(token: string): Promise<Principal> {
    const hit = remembered.get(token)
    if (hit) {
      if (hit.expiresAt > now()) return hit
      remembered.delete(token)
    }
    try {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: [ALG],
        issuer: cfg.issuer,
        audience: cfg.audience,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(now()),
      })
      if (!UUID.test(payload.sub ?? '')) throw unauthorized('the bearer token is not valid')
      const tier = payload.tier === 'paid' ? 'paid' : 'free'
      const p: Principal = { userId: payload.sub as string, tier, expiresAt: (payload.exp as number) * 1000 }
      remembered.set(token, p)
      return p
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthorized('the token has expired; log in again')
      throw unauthorized('the bearer token is not valid')
    }
  }

  return {
    async issue(userId, tier) {
      return new SignJWT({ tier })
        .setProtectedHeader({ alg: ALG })
        .setSubject(userId)
        .setIssuer(cfg.issuer)
        .setAudience(cfg.audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor((now() + cfg.tokenTtlMs) / 1000))
        .sign(secret)
    },
    async verify(token) {
      const p = await decode(token)
      if (!(await isActive(p.userId))) throw unauthorized('the user of this token is disabled or deleted')
      return p
    },
    known,
    isActive,
  }
}
