/** `GET /v1/admin/status`: admins only (the role is the operator's to set), each slot's backend, counts that move. */
import { expect, test } from 'bun:test'
import { client, describeEachDatabase, startRuntime } from '../helpers/runtime.ts'

describeEachDatabase('admin status', (rt) => {
  const api = client(rt)

  test('needs a token, then the admin role: everyone else gets 403 with the error shape', async () => {
    expect((await api.get('/v1/admin/status')).status).toBe(401)
    const user = await api.user()
    const r = await api.get('/v1/admin/status', user.token)
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe('FORBIDDEN')
    expect(r.body.error.message).toContain('set-role')
  })

  test('an admin sees every slot with its backend, and the request count rises', async () => {
    const admin = await api.user()
    await rt().deps.users.setRole(admin.email, 'admin')
    const first = await api.get('/v1/admin/status', admin.token)
    expect(first.status).toBe(200)
    expect(first.body.slots.map((s: { slot: string }) => s.slot).sort()).toEqual(
      ['cache', 'dbPool', 'dbRouter', 'llmDispatch', 'rateLimit', 'session'].sort(),
    )
    for (const s of first.body.slots) expect(s.backend).toBe('default')
    const dispatch = first.body.slots.find((s: { slot: string }) => s.slot === 'llmDispatch')
    expect(dispatch.stats).toEqual({ queued: 0, running: 0 })
    expect(first.body.instances).toEqual({ live: 1, configured: 1, embedded: true })
    for (let i = 0; i < 5; i++) await api.get('/v1/me', admin.token)
    // Requests are counted after their response is sent: give those hooks their turn.
    let total = 0
    for (let i = 0; i < 40 && total < first.body.requests.total + 5; i++) {
      await Bun.sleep(25)
      total = (await api.get('/v1/admin/status', admin.token)).body.requests.total
    }
    expect(total).toBeGreaterThanOrEqual(first.body.requests.total + 5)
  })

  test('a role change applies at once, without a new token', async () => {
    const u = await api.user()
    expect((await api.get('/v1/admin/status', u.token)).status).toBe(403)
    await rt().deps.users.setRole(u.email, 'admin')
    expect((await api.get('/v1/admin/status', u.token)).status).toBe(200)
    await rt().deps.users.setRole(u.email, 'user')
    expect((await api.get('/v1/admin/status', u.token)).status).toBe(403)
  })
})

test('refusals by the rate limiter are counted by route group', async () => {
  const rt = await startRuntime({ anonymous: { requestsPerMinute: 2 } })
  try {
    const api = client(() => rt)
    const admin = await api.user()
    await rt.deps.users.setRole(admin.email, 'admin')
    expect((await api.get('/v1/admin/status', admin.token)).body.rateLimited).toEqual({})
    const login = () => api.post('/v1/auth/login', { email: admin.email, password: 'correct horse battery' })
    expect((await login()).status).toBe(200)
    expect((await login()).status).toBe(429)
    expect((await api.get('/v1/admin/status', admin.token)).body.rateLimited).toEqual({ anonymous: 1 })
  } finally {
    await rt.stop()
  }
})

test('console.enabled is off by default with several instances, and then the routes are absent', async () => {
  const { resolveConfig } = await import('../../core/config/load.ts')
  expect(resolveConfig({ instances: 2 }, {}).console.enabled).toBe(false)
  expect(resolveConfig({ instances: 2, console: { enabled: true } }, {}).console.enabled).toBe(true)
  expect(resolveConfig({}, {}).console.enabled).toBe(true)
  const rt = await startRuntime({ console: { enabled: false } })
  try {
    const api = client(() => rt)
    expect((await api.get('/console')).status).toBe(404)
    const u = await api.user()
    expect((await api.get('/v1/admin/status', u.token)).status).toBe(404)
  } finally {
    await rt.stop()
  }
})
