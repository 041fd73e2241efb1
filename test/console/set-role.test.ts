/** `npm run cli -- set-role <email> admin`: the operator's way to open the status view to a user. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Runtime } from '../../core/app.ts'
import { HOOK_TIMEOUT, client, startRuntime } from '../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing } from '../helpers/services.ts'

const ROOT = join(import.meta.dir, '../..')

async function cli(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, 'core/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, out, err }
}

describeWith('set-role [postgres]', await postgresMissing(), () => {
  let rt: Runtime
  let db: { url: string; drop(): Promise<void> }
  beforeAll(async () => {
    db = await freshPostgresDatabase()
    rt = await startRuntime({ database: { url: db.url } })
  }, HOOK_TIMEOUT)
  afterAll(async () => {
    await rt?.stop()
    await db?.drop()
  }, HOOK_TIMEOUT)

  test('makes a user an admin, at once, and back', async () => {
    const api = client(() => rt)
    const { email, token } = await api.user()
    expect((await api.get('/v1/admin/status', token)).status).toBe(403)
    const env = { DATABASE_URL: db.url, JWT_SECRET: 'x'.repeat(40) }
    const granted = await cli(['set-role', email.toUpperCase(), 'admin'], env)
    expect(granted).toMatchObject({ code: 0 })
    expect(granted.out).toContain(`${email} is now admin`)
    expect((await api.get('/v1/admin/status', token)).status).toBe(200)
    expect((await cli(['set-role', email, 'user'], env)).code).toBe(0)
    expect((await api.get('/v1/admin/status', token)).status).toBe(403)
  }, 60_000)

  test('an unknown role or email is refused', async () => {
    const bad = await cli(['set-role', 'someone@example.com', 'root'], {})
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('"user" or "admin"')
    const missing = await cli(['set-role', 'nobody@example.com', 'admin'], { DATABASE_URL: db.url, JWT_SECRET: 'x'.repeat(40) })
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('NOT_FOUND')
  }, 60_000)
})
