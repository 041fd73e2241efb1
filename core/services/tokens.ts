/**
 * Access tokens: JWTs signed and checked with jose (HS256 pinned; `exp`, `iss`, `aud`
 * checked). Verified tokens are remembered until they expire, in a bounded map: jose on
 * every request would cost most of the hot-path budget.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose'
import type { ResolvedConfig, Tier } from '../config/define.ts'
import { unauthorized } from '../errors.ts'

export interface Principal {
  userId: string
  tier: Tier
  /** Epoch ms when the token expires. */
  expiresAt: number
}

export interface TokenService {
  issue(userId: string, tier: Tier): Promise<string>
  verify(token: string): Promise<Principal>
}

const ALG = 'HS256'

export function createTokenService(cfg: ResolvedConfig['auth'], secret: Uint8Array, now = () => Date.now()): TokenService {
  const remembered = new Map<string, Principal>()
  const max = cfg.tokenCacheSize

  function remember(token: string, p: Principal) {
    if (max === 0) return
    if (remembered.size >= max) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = remembered.keys().next().value
      if (oldest !== undefined) remembered.delete(oldest)
    }
    remembered.set(token, p)
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
        const tier = payload.tier === 'paid' ? 'paid' : 'free'
        const p: Principal = { userId: payload.sub as string, tier, expiresAt: (payload.exp as number) * 1000 }
        remember(token, p)
        return p
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) throw unauthorized('the token has expired; log in again')
        throw unauthorized('the bearer token is not valid')
      }
    },
  }
}
