import { expect, test } from 'bun:test'
import { client, describeEachDatabase } from '../helpers/runtime.ts'

describeEachDatabase('auth', (rt) => {
  const api = client(rt)

  test('register, then log in with the same password, then read /v1/me', async () => {
    const email = `Ann.${crypto.randomUUID().slice(0, 6)}@Example.com`
    const reg = await api.post('/v1/auth/register', { email, password: 'long enough password' })
    expect(reg.status).toBe(201)
    expect(reg.body.user).toEqual({ id: expect.any(String), email: email.toLowerCase(), tier: 'free' })
    expect(reg.body.token.split('.')).toHaveLength(3)

    const login = await api.post('/v1/auth/login', { email: email.toUpperCase(), password: 'long enough password' })
    expect(login.status).toBe(200)
    expect(login.body.user.id).toBe(reg.body.user.id)

    const me = await api.get('/v1/me', login.body.token)
    expect(me.status).toBe(200)
    expect(me.body).toEqual(reg.body.user)
  })

  test('a second registration with the same email is a 409 CONFLICT', async () => {
    const { email } = await api.user()
    const again = await api.post('/v1/auth/register', { email, password: 'another password' })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('CONFLICT')
  })

  test('a wrong password and an unknown email get the same 401', async () => {
    const { email } = await api.user()
    const wrong = await api.post('/v1/auth/login', { email, password: 'not the password' })
    const unknown = await api.post('/v1/auth/login', { email: `nobody-${Date.now()}@example.com`, password: 'not the password' })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body).toEqual(unknown.body)
  })

  test('bad register input is a 400 VALIDATION_FAILED naming the field, and creates nothing', async () => {
    for (const body of [
      { email: 'not-an-email', password: 'long enough password' },
      { email: 'x@example.com', password: 'short' },
      { email: 'y@example.com' },
      { email: 'z@example.com', password: 'long enough password', tier: 'paid' },
    ]) {
      const r = await api.post('/v1/auth/register', body)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('VALIDATION_FAILED')
      expect(typeof r.body.error.message).toBe('string')
    }
    const login = await api.post('/v1/auth/login', { email: 'z@example.com', password: 'long enough password' })
    expect(login.status).toBe(401)
  })

  test('a user cannot set their own tier at registration', async () => {
    const r = await api.post('/v1/auth/register', { email: `t${Date.now()}@example.com`, password: 'long enough password', tier: 'paid' })
    expect(r.status).toBe(400)
  })

  test('/v1/me without a token, with a bad token, with a token signed by another secret: 401', async () => {
    expect((await api.get('/v1/me')).status).toBe(401)
    expect((await api.get('/v1/me', 'not.a.token')).status).toBe(401)
    const { SignJWT } = await import('jose')
    const forged = await new SignJWT({ tier: 'paid' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(crypto.randomUUID())
      .setIssuer('scale-runtime')
      .setAudience('scale-runtime-api')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-some-other-secret-00'))
    const r = await api.get('/v1/me', forged)
    expect(r.status).toBe(401)
    expect(r.body.error.code).toBe('UNAUTHORIZED')
  })

  test('malformed JSON is a 400, not a 500', async () => {
    const r = await api.call('POST', '/v1/auth/register', { raw: '{"email":', headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe('VALIDATION_FAILED')
  })
})
