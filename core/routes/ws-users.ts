/**
 * The open WebSockets of each user on this instance: counted for the tier's `maxSockets`,
 * and swept every `auth.revocationCheck` (only while any is open) so a disabled or deleted
 * user's sockets close with 4401 even when they send nothing.
 */
import type { Logger } from 'pino'
import type { TokenService } from '../services/tokens.ts'

/** Close code for a socket over the user's `maxSockets` (HTTP's 429, in the private range). */
export const CLOSE_TOO_MANY_SOCKETS = 4429
/** Close code for a socket whose user was disabled or deleted (HTTP's 401). */
export const CLOSE_REVOKED = 4401
export const REVOKED_REASON = 'the user of this token is disabled or deleted'

type Close = (code: number, reason: string) => void

export function createUserSockets(tokens: Pick<TokenService, 'isActive'>, everyMs: number, logger: Logger) {
  const byUser = new Map<string, Map<string, Close>>()
  let timer: ReturnType<typeof setInterval> | undefined

  async function sweep() {
    for (const [userId, sockets] of byUser) {
      // A failed lookup (database down) keeps the sockets: the next sweep asks again.
      const active = await tokens.isActive(userId).catch((err) => {
        logger.warn({ err, userId }, 'revocation check failed; sockets kept')
        return true
      })
      if (!active) for (const close of [...sockets.values()]) close(CLOSE_REVOKED, REVOKED_REASON)
    }
  }

  return {
    count: (userId: string) => byUser.get(userId)?.size ?? 0,
    add(userId: string, id: string, close: Close) {
      const mine = byUser.get(userId) ?? new Map<string, Close>()
      mine.set(id, close)
      byUser.set(userId, mine)
      timer ??= setInterval(() => void sweep(), Math.max(1_000, everyMs))
      timer.unref?.()
    },
    remove(userId: string, id: string) {
      const mine = byUser.get(userId)
      mine?.delete(id)
      if (mine?.size === 0) byUser.delete(userId)
      if (byUser.size === 0 && timer) {
        clearInterval(timer)
        timer = undefined
      }
    },
  }
}
