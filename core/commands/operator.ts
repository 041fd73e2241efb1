/** Operator commands on the database: `scale-runtime migrate`, `set-tier <email> <free|paid>` and `set-role <email> <user|admin>`. */
import type { ResolvedConfig } from '../config/resolved.ts'
import { loadConfig } from '../config/load.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { openDatabase, type Database } from '../db/open.ts'
import { createPrimaryRouter } from '../defaults/primary-router.ts'
import { createStaticPool } from '../defaults/static-pool.ts'
import { openCacheOnly } from '../plugins/cache-only.ts'
import { detectRuntime } from '../runtime/index.ts'
import { createCachedReads, uncachedReads } from '../services/cached-reads.ts'
import { createUserService } from '../services/users.ts'

async function withDatabase(work: (database: Database, config: ResolvedConfig) => Promise<void>): Promise<number> {
  const config = await loadConfig()
  const database = await openDatabase(config.database)
  try {
    await work(database, config)
    return 0
  } finally {
    await database.close()
  }
}

export function migrate(): Promise<number> {
  return withDatabase(async (database) => {
    await migrateDatabase(database)
    console.log(`migrations applied (${database.driver})`)
  })
}

export async function setTier(args: string[]): Promise<number> {
  const [email, tier] = args
  if (args.length !== 2 || (tier !== 'free' && tier !== 'paid')) {
    console.error(
      `set-tier takes an email and "free" or "paid", got ${JSON.stringify(args)}\nusage: scale-runtime set-tier <email> <free|paid>`,
    )
    return 2
  }
  return withDatabase(async (database, config) => {
    const router = createPrimaryRouter(createStaticPool(database, 1))
    // With the cache plugin, the change reaches every instance's cached /v1/me at once.
    const cached = await openCacheOnly(config, database)
    try {
      const reads = cached.cache ? createCachedReads(cached.cache, config.cache) : uncachedReads
      const user = await createUserService(router, await detectRuntime(), reads).setTier(email!, tier)
      console.log(`${user.email} is now ${user.tier}; it applies to tokens issued from now on (next login)`)
      if (!cached.cache) {
        console.log(`without the cache plugin, running instances show it on /v1/me within cache.ttl.user (${config.cache.ttlMs.user} ms)`)
      }
    } finally {
      await cached.close()
    }
  })
}

export async function setRole(args: string[]): Promise<number> {
  const [email, role] = args
  if (args.length !== 2 || (role !== 'user' && role !== 'admin')) {
    console.error(
      `set-role takes an email and "user" or "admin", got ${JSON.stringify(args)}\nusage: scale-runtime set-role <email> <user|admin>`,
    )
    return 2
  }
  return withDatabase(async (database) => {
    const router = createPrimaryRouter(createStaticPool(database, 1))
    const user = await createUserService(router, await detectRuntime()).setRole(email!, role)
    console.log(`${user.email} is now ${user.role}; it applies at once`)
  })
}

/** `disable-user`, `enable-user`, `delete-user <email>`: revocation reaches running instances within auth.revocationCheck. */
export async function userState(command: 'disable-user' | 'enable-user' | 'delete-user', args: string[]): Promise<number> {
  if (args.length !== 1) {
    console.error(`${command} takes one email, got ${JSON.stringify(args)}\nusage: scale-runtime ${command} <email>`)
    return 2
  }
  const config = await loadConfig()
  return withDatabase(async (database) => {
    const users = createUserService(createPrimaryRouter(createStaticPool(database, 1)), await detectRuntime())
    const within = `running instances refuse their tokens within auth.revocationCheck (${config.auth.revocationCheckMs} ms)`
    if (command === 'delete-user') {
      const user = await users.remove(args[0]!)
      console.log(`${user.email} is deleted with their conversations; ${within}`)
    } else {
      const user = await users.setDisabled(args[0]!, command === 'disable-user')
      console.log(command === 'disable-user' ? `${user.email} is disabled; ${within}` : `${user.email} is enabled again`)
    }
  })
}
