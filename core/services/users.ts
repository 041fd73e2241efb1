/** Users: register, log in, read, and the operator's tier change, disable and delete. */
import { eq } from 'drizzle-orm'
import type { Tier } from '../types.ts'
import { ScaleError, notFound, quote } from '../errors.ts'
import type { DbRouter } from '../ports/db-router.ts'
import type { RuntimeAdapter } from '../runtime/adapter.ts'
import { changes, idempotencyKeys, users } from '../db/schema.ts'
import { cacheTags, uncachedReads, type CachedReads } from './cached-reads.ts'

/** `admin` may read the runtime's status (`/v1/admin/status`, the console's status view). */
export type Role = 'user' | 'admin'

export interface PublicUser {
  id: string
  email: string
  tier: Tier
}

const toPublic = (u: { id: string; email: string; tier: Tier }): PublicUser => ({ id: u.id, email: u.email, tier: u.tier })

// A hash of a random password, verified against when the email is unknown, so that a
// login for a missing user takes as long as one with a wrong password.
let decoyHash: Promise<string> | undefined

/** `reads` caches `get` (the profile and tier); a tier change invalidates it once committed. */
export function createUserService(router: DbRouter, runtime: RuntimeAdapter, reads: CachedReads = uncachedReads) {
  async function updateByEmail(email: string, change: { tier?: Tier; role?: Role }) {
    const rows = await router
      .write()
      .update(users)
      .set({ ...change, updatedAt: new Date() })
      .where(eq(users.email, email.trim().toLowerCase()))
      .returning()
    if (!rows[0]) throw notFound(`user ${quote(email)}`)
    return rows[0]
  }

  return {
    async register(email: string, password: string): Promise<PublicUser> {
      const normalized = email.trim().toLowerCase()
      const now = new Date()
      const hash = await runtime.hashPassword(password)
      const rows = await router
        .write()
        .insert(users)
        .values({ id: crypto.randomUUID(), email: normalized, passwordHash: hash, tier: 'free', createdAt: now, updatedAt: now })
        .onConflictDoNothing({ target: users.email })
        .returning()
      if (!rows[0]) throw new ScaleError('CONFLICT', `a user with email ${quote(normalized)} already exists; log in instead`)
      await router.wrote(rows[0].id)
      return toPublic(rows[0])
    },

    async login(email: string, password: string): Promise<PublicUser> {
      const normalized = email.trim().toLowerCase()
      const [row] = await router.write().select().from(users).where(eq(users.email, normalized)).limit(1)
      if (!row) {
        decoyHash ??= runtime.hashPassword(crypto.randomUUID())
        await runtime.verifyPassword(password, await decoyHash)
        throw new ScaleError('UNAUTHORIZED', 'email or password is wrong')
      }
      if (!(await runtime.verifyPassword(password, row.passwordHash))) {
        throw new ScaleError('UNAUTHORIZED', 'email or password is wrong')
      }
      // Only after the password check, so a disabled account is not revealed to a guesser.
      if (row.disabledAt) throw new ScaleError('UNAUTHORIZED', 'this account is disabled')
      return toPublic(row)
    },

    get(id: string): Promise<PublicUser> {
      return reads.read('user', id, [], [cacheTags.user(id)], async () => {
        const [row] = await (await router.read(id)).select().from(users).where(eq(users.id, id)).limit(1)
        if (!row) throw notFound('user')
        return toPublic(row)
      })
    },

    /**
     * The user's role, read from the primary each time (not a replica that may lag), so an
     * operator's change applies at once. Asked only by the admin routes.
     */
    async role(id: string): Promise<Role> {
      const [row] = await router.write().select({ role: users.role }).from(users).where(eq(users.id, id)).limit(1)
      return row?.role ?? 'user'
    },

    /** Operator only (CLI): users cannot make themselves admins. */
    async setRole(email: string, role: Role): Promise<PublicUser & { role: Role }> {
      const row = await updateByEmail(email, { role })
      return { ...toPublic(row), role: row.role }
    },

    /** Operator only (CLI): users cannot change their own tier. */
    async setTier(email: string, tier: Tier): Promise<PublicUser> {
      const row = await updateByEmail(email, { tier })
      await reads.invalidate([cacheTags.user(row.id)])
      return toPublic(row)
    },

    /**
     * Whether a token's user may still act: `false` once the user is disabled or deleted.
     * Read from the primary, since a replica may lag behind the operator's change.
     */
    async isActive(id: string): Promise<boolean> {
      const [row] = await router.write().select({ disabledAt: users.disabledAt }).from(users).where(eq(users.id, id)).limit(1)
      return row !== undefined && row.disabledAt === null
    },

    /** Operator only (CLI): disable (or with `false`, enable again) a user's account and tokens. */
    async setDisabled(email: string, disabled: boolean): Promise<PublicUser> {
      const now = new Date()
      const rows = await router
        .write()
        .update(users)
        .set({ disabledAt: disabled ? now : null, updatedAt: now })
        .where(eq(users.email, email.trim().toLowerCase()))
        .returning()
      if (!rows[0]) throw notFound(`user ${quote(email)}`)
      return toPublic(rows[0])
    },

    /** Operator only (CLI): delete a user with their conversations and messages. */
    async remove(email: string): Promise<PublicUser> {
      const removed = await router.write().transaction(async (tx) => {
        // Conversations and messages go by cascade; the change log and idempotency keys have no
        // foreign key (they are written on hot paths), so they go by hand.
        const [row] = await tx.delete(users).where(eq(users.email, email.trim().toLowerCase())).returning()
        if (!row) return undefined
        await tx.delete(changes).where(eq(changes.userId, row.id))
        await tx.delete(idempotencyKeys).where(eq(idempotencyKeys.userId, row.id))
        return row
      })
      if (!removed) throw notFound(`user ${quote(email)}`)
      // Its tokens are refused from now on; the cached reads go too rather than wait out their TTL.
      await reads.invalidate([cacheTags.user(removed.id), cacheTags.list(removed.id)])
      return toPublic(removed)
    },
  }
}

export type UserService = ReturnType<typeof createUserService>
