/** `POST /v1/auth/register`, `POST /v1/auth/login`, `GET /v1/me`. */
import { Elysia, t } from 'elysia'
import type { AppDeps } from '../http/deps.ts'
import { cachedJson } from '../http/etag.ts'

const Credentials = t.Object(
  {
    email: t.String({ format: 'email', maxLength: 254, description: 'the account email' }),
    password: t.String({ minLength: 8, maxLength: 256, description: '8 to 256 characters' }),
  },
  { additionalProperties: false },
)

export const User = t.Object({ id: t.String({ format: 'uuid' }), email: t.String(), tier: t.Union([t.Literal('free'), t.Literal('paid')]) })
const Session = t.Object({ user: User, token: t.String() })

export function authRoutes({ guard, users, tokens }: AppDeps) {
  return new Elysia({ name: 'routes-auth', prefix: '/v1', tags: ['auth'] })
    .use(guard)
    .post(
      '/auth/register',
      async ({ body, set }) => {
        const user = await users.register(body.email, body.password)
        set.status = 201
        return { user, token: await tokens.issue(user.id, user.tier) }
      },
      { anonymous: true, body: Credentials, response: { 201: Session }, detail: { summary: 'Create an account' } },
    )
    .post(
      '/auth/login',
      async ({ body }) => {
        const user = await users.login(body.email, body.password)
        return { user, token: await tokens.issue(user.id, user.tier) }
      },
      { anonymous: true, body: Credentials, response: { 200: Session }, detail: { summary: 'Log in and get a bearer token' } },
    )
    .get('/me', async ({ user, headers, set }) => cachedJson(await users.get(user.userId), headers['if-none-match'], set.headers), {
      auth: 'api',
      response: { 200: User },
      detail: { summary: 'The current user' },
    })
}
