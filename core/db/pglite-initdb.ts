/**
 * Run as its own process (`pglite-folder.ts` spawns it): initialize a PGlite cluster in the
 * folder given as the first argument, with the settings given as JSON in the second, and exit.
 * The memory initdb takes leaves with this process instead of staying in the server's.
 */
import { PGlite } from '@electric-sql/pglite'

const [path, settings] = process.argv.slice(2)
if (!path) {
  console.error('usage: pglite-initdb <folder> [settings-json]')
  process.exit(2)
}
const db = new PGlite(path, settings ? JSON.parse(settings) : {})
await db.waitReady
await db.close()
