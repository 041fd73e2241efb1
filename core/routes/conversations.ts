/** Conversations and their messages: list, create, read, rename, delete. */
import { Elysia, t } from 'elysia'
import type { AppDeps } from '../http/deps.ts'
import { cachedJson } from '../http/etag.ts'
import { Conversation, IdParams, Message } from './schemas.ts'

const Page = t.Object(
  {
    limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 20, description: '1 to 100' })),
    cursor: t.Optional(t.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
)
const Title = t.String({ maxLength: 200, description: 'up to 200 characters' })

export function conversationRoutes({ guard, conversations }: AppDeps) {
  return new Elysia({ name: 'routes-conversations', prefix: '/v1/conversations', tags: ['conversations'] })
    .use(guard)
    .post(
      '/',
      async ({ body, user, set }) => {
        set.status = 201
        return conversations.create(user.userId, body?.title ?? '')
      },
      {
        auth: 'api',
        body: t.Optional(t.Object({ title: t.Optional(Title) }, { additionalProperties: false })),
        response: { 201: Conversation },
      },
    )
    .get(
      '/',
      async ({ query, user, headers, set }) =>
        cachedJson(await conversations.list(user.userId, query.limit ?? 20, query.cursor), headers['if-none-match'], set.headers),
      {
        auth: 'api',
        query: Page,
        response: { 200: t.Object({ items: t.Array(Conversation), nextCursor: t.Nullable(t.String()) }) },
      },
    )
    .get(
      '/:id',
      async ({ params, user, headers, set }) =>
        cachedJson(await conversations.get(user.userId, params.id), headers['if-none-match'], set.headers),
      {
        auth: 'api',
        params: IdParams,
        response: { 200: Conversation },
      },
    )
    .patch('/:id', ({ params, body, user }) => conversations.rename(user.userId, params.id, body.title), {
      auth: 'api',
      params: IdParams,
      body: t.Object({ title: Title }, { additionalProperties: false }),
      response: { 200: Conversation },
    })
    .delete(
      '/:id',
      async ({ params, user, set }) => {
        await conversations.remove(user.userId, params.id)
        set.status = 204
        // An explicit null body: Elysia would build `new Response('', { status: 204 })`, which
        // the fetch standard forbids (Deno throws; Bun lets it pass).
        return new Response(null, { status: 204 })
      },
      { auth: 'api', params: IdParams },
    )
    .get(
      '/:id/messages',
      async ({ params, query, user, headers, set }) =>
        cachedJson(
          await conversations.listMessages(user.userId, params.id, query.limit ?? 20, query.cursor),
          headers['if-none-match'],
          set.headers,
        ),
      {
        auth: 'api',
        params: IdParams,
        query: Page,
        response: { 200: t.Object({ items: t.Array(Message), nextCursor: t.Nullable(t.String()) }) },
      },
    )
}
