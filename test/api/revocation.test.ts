/** Revocation: tokens of disabled or deleted users stop working on every HTTP channel; a bad `sub` is a 401. */
import { expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { SignJWT } from 'jose'
import { users } from '../../core/db/schema.ts'
import { client, describeEachDatabase, TEST_SECRET } from '../helpers/runtime.ts'

const REVOCATION_CHECK_MS = 300

describeEachDatabase(
  'revocation',
  (rt) => {
    const api = client(rt)
    const gateway = (token: string) =>
      api.call('POST', '/v1/messages', {
        token,
        body: { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
      })
    /** Every channel that takes a token over HTTP, and their statuses. */
    const statuses = async (token: string) => [
      (await api.get('/v1/me', token)).status,
      (await api.post('/v1/conversations', { title: 't' }, token)).status,
      (await api.get('/v1/sync', token)).status,
      (await gateway(token)).status,
    ]
    const waitForRecheck = () => Bun.sleep(REVOCATION_CHECK_MS + 100)

    test('a token whose sub is not a UUID is a 401, never a 500', async () => {
      for (const sub of ['not-a-uuid', '1', "x' or 1=1 --", '00000000-0000-0000-0000-00000000000g']) {
        const token = await new SignJWT({ tier: 'free' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(sub)
          .setIssuer('scale-runtime')
          .setAudience('scale-runtime-api')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_SECRET))
        expect(await statuses(token)).toEqual([401, 401, 401, 401])
      }
    })

    test('a deleted user: every channel answers 401 within auth.revocationCheck, POST /v1/conversations included', async () => {
      const u = await api.user()
      expect(await statuses(u.token)).toEqual([200, 201, 200, 200])
      await rt().deps.users.remove(u.email)
      await waitForRecheck()
      expect(await statuses(u.token)).toEqual([401, 401, 401, 401])
      expect((await api.get('/v1/me', u.token)).body.error.code).toBe('UNAUTHORIZED')
    })

    test('a user deleted behind the runtime’s back (another process) is refused too', async () => {
      const u = await api.user()
      expect((await api.get('/v1/me', u.token)).status).toBe(200)
      await rt().slots.dbRouter.write().delete(users).where(eq(users.id, u.id))
      await waitForRecheck()
      expect(await statuses(u.token)).toEqual([401, 401, 401, 401])
    })

    test('a disabled user: 401 on every channel and at login; enabled again, both work', async () => {
      const u = await api.user()
      expect((await api.get('/v1/me', u.token)).status).toBe(200)
      await rt().deps.users.setDisabled(u.email, true)
      await waitForRecheck()
      expect(await statuses(u.token)).toEqual([401, 401, 401, 401])
      const login = await api.post('/v1/auth/login', { email: u.email, password: 'correct horse battery' })
      expect(login.status).toBe(401)
      // A wrong password says nothing about the account being disabled.
      const wrong = await api.post('/v1/auth/login', { email: u.email, password: 'wrong horse battery' })
      expect(wrong.body.error.message).toBe('email or password is wrong')
      await rt().deps.users.setDisabled(u.email, false)
      await waitForRecheck()
      expect((await api.get('/v1/me', u.token)).status).toBe(200)
      expect((await api.post('/v1/auth/login', { email: u.email, password: 'correct horse battery' })).status).toBe(200)
    })
  },
  {
    auth: { revocationCheck: REVOCATION_CHECK_MS },
  },
)
