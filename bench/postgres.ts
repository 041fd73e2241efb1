/** A fresh PostgreSQL database for one bench run (`scale_bench_<time>`), dropped afterwards. */
import postgres from 'postgres'

/** The server to create the bench database on; its own database is only used to run CREATE/DROP DATABASE. */
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Why PostgreSQL can't be used, or undefined when it can. */
export async function postgresDown(url = ADMIN_URL): Promise<string | undefined> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    await sql`select 1`
    return undefined
  } catch (e) {
    return `PostgreSQL at ${new URL(url).host} is not reachable (${(e as Error).message})`
  } finally {
    await sql.end({ timeout: 1 })
  }
}

export interface BenchDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

export async function createBenchDatabase(adminUrl = ADMIN_URL): Promise<BenchDatabase> {
  const name = `scale_bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  let dropped: Promise<void> | undefined
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= (async () => {
        const a = postgres(adminUrl, { max: 1, onnotice: () => {} })
        try {
          // `with (force)` ends the servers' leftover connections if one did not shut down.
          await a.unsafe(`drop database if exists ${name} with (force)`)
        } finally {
          await a.end()
        }
      })()),
  }
}
