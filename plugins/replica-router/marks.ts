/**
 * Write marks: per user, the primary's WAL position after their last write, for `ttl`.
 * Kept in this process (a Map) and, when a session plugin is wired, in the user's session
 * too, so a read on another instance sees a write made here.
 *
 * Each instance writes its own session field (`wal:<instance>`), always with the highest
 * position it knows for the user: two instances writing for one user at once can then never
 * overwrite a newer mark with an older one. A reader takes the highest unexpired field.
 */
import type { SessionData, SessionStore } from 'scale-runtime/plugin'

const FIELD = 'wal:'

interface Mark {
  lsn: number
  until: number
}

export interface WriteMarks {
  /** The position a read for `userId` must see; 0 when the user has no recent write. */
  need(userId: string): number | Promise<number>
  record(userId: string, lsn: number): void | Promise<void>
  /** Drop expired marks from this process's map. */
  prune(now?: number): void
}

export function createWriteMarks(opts: { ttlMs: number; session?: SessionStore }): WriteMarks {
  const { ttlMs, session } = opts
  const local = new Map<string, Mark>()
  const field = FIELD + crypto.randomUUID().slice(0, 8)

  const localNeed = (userId: string, now: number) => {
    const m = local.get(userId)
    return m && m.until > now ? m.lsn : 0
  }

  const fromSession = (data: SessionData | null, now: number) => {
    let need = 0
    if (!data) return need
    for (const key in data) {
      if (!key.startsWith(FIELD)) continue
      const v = data[key]
      if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number' && v[1] > now && v[0] > need) need = v[0]
    }
    return need
  }

  return {
    need(userId) {
      const now = Date.now()
      const mine = localNeed(userId, now)
      if (!session) return mine
      return session.get(userId).then((data) => Math.max(mine, fromSession(data, now)))
    },
    record(userId, lsn) {
      const now = Date.now()
      const mark = { lsn: Math.max(lsn, localNeed(userId, now)), until: now + ttlMs }
      local.set(userId, mark)
      if (session) return session.patch(userId, { [field]: [mark.lsn, mark.until] }).then(() => {})
    },
    prune(now = Date.now()) {
      for (const [userId, m] of local) if (m.until <= now) local.delete(userId)
    },
  }
}
