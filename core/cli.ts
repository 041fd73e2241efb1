/**
 * Operator commands: `npm run migrate`, `npm run cli -- set-tier <email> <free|paid>`,
 * `npm run cli -- set-role <email> <user|admin>`.
 */
import { loadConfig } from './config/load.ts'
import { migrateDatabase } from './db/migrate.ts'
import { openDatabase } from './db/open.ts'
import { createPrimaryRouter } from './defaults/primary-router.ts'
import { createStaticPool } from './defaults/static-pool.ts'
import { isScaleError } from './errors.ts'
import { detectRuntime } from './runtime/index.ts'
import { createUserService, type Role } from './services/users.ts'

const usage = `usage:
  npm run migrate                              apply database migrations
  npm run cli -- set-tier <email> <free|paid>  change a user's tier
  npm run cli -- set-role <email> <user|admin> change a user's role (admin: the console's status view)`

async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args
  if (command !== 'migrate' && command !== 'set-tier' && command !== 'set-role') {
    console.error(usage)
    return 2
  }
  if (command === 'set-tier' && (rest.length !== 2 || (rest[1] !== 'free' && rest[1] !== 'paid'))) {
    console.error(`set-tier takes an email and "free" or "paid", got ${JSON.stringify(rest)}\n${usage}`)
    return 2
  }
  if (command === 'set-role' && (rest.length !== 2 || (rest[1] !== 'user' && rest[1] !== 'admin'))) {
    console.error(`set-role takes an email and "user" or "admin", got ${JSON.stringify(rest)}\n${usage}`)
    return 2
  }
  const config = await loadConfig()
  const database = await openDatabase(config.database)
  try {
    if (command === 'migrate') {
      await migrateDatabase(database)
      console.log(`migrations applied (${database.driver})`)
    } else {
      const router = createPrimaryRouter(createStaticPool(database, 1))
      const users = createUserService(router, await detectRuntime())
      if (command === 'set-role') {
        const user = await users.setRole(rest[0]!, rest[1] as Role)
        console.log(`${user.email} is now ${user.role}; it applies at once`)
      } else {
        const user = await users.setTier(rest[0]!, rest[1] as 'free' | 'paid')
        console.log(`${user.email} is now ${user.tier}; it applies to tokens issued from now on (next login)`)
      }
    }
    return 0
  } finally {
    await database.close()
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(isScaleError(e) ? `${e.code}: ${e.message}` : e)
    process.exit(1)
  },
)
