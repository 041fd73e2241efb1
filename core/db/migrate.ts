/** Applies the committed drizzle-kit migrations (on start, unless switched off, and by `npm run migrate`). */
import { fileURLToPath } from 'node:url'
import type { Database } from './open.ts'

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url))

export async function migrateDatabase(database: Database): Promise<void> {
  if (database.driver === 'postgres') {
    const { migrate } = await import('drizzle-orm/postgres-js/migrator')
    await migrate(database.db as never, { migrationsFolder: MIGRATIONS_FOLDER })
  } else {
    const { migrate } = await import('drizzle-orm/pglite/migrator')
    await migrate(database.db as never, { migrationsFolder: MIGRATIONS_FOLDER })
  }
}
