/** The default db pool and router pass their conformance suites on PGlite and on PostgreSQL. */
import { resolveConfig } from '../../core/config/load.ts'
import { migrateDatabase } from '../../core/db/migrate.ts'
import { openDatabase } from '../../core/db/open.ts'
import { createPrimaryRouter } from '../../core/defaults/primary-router.ts'
import { createStaticPool } from '../../core/defaults/static-pool.ts'
import { dbPoolSuite, dbRouterSuite } from 'scale-runtime/testing'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../helpers/services.ts'

const pgMissing = await postgresMissing()

async function open(kind: 'pglite' | 'postgres') {
  const pg = kind === 'postgres' ? await freshPostgresDatabase() : undefined
  const database = await openDatabase(resolveConfig({ database: { url: pg?.url, dataDir: 'memory://', pool: { max: 4 } } }).database)
  await migrateDatabase(database)
  const pool = createStaticPool(database, 4)
  return {
    pool,
    close: async () => {
      await pool.close()
      await pg?.drop()
    },
  }
}

for (const kind of ['pglite', 'postgres'] as const) {
  describeWith(`default db slots [${kind}]`, kind === 'postgres' ? pgMissing : undefined, () => {
    dbPoolSuite(`static pool (${kind})`, async () => {
      const { pool, close } = await open(kind)
      return { ...pool, close }
    })
    dbRouterSuite(`primary router (${kind})`, async () => {
      const { pool, close } = await open(kind)
      return { router: createPrimaryRouter(pool), close }
    })
  })
}
