/** `GET /v1/sync`: everything that changed since the cursor. */
import { Elysia, t } from 'elysia'
import type { AppDeps } from '../http/deps.ts'
import { Conversation, Message } from './schemas.ts'

export function syncRoutes({ guard, sync }: AppDeps) {
  return new Elysia({ name: 'routes-sync', prefix: '/v1', tags: ['sync'] })
    .use(guard)
    .get('/sync', ({ query, user }) => sync.pull(user.userId, query.limit ?? 100, query.cursor), {
      auth: 'sync',
      query: t.Object(
        {
          cursor: t.Optional(t.String({ maxLength: 512 })),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000, default: 100, description: '1 to 1000 changes' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: t.Object({
          conversations: t.Array(Conversation),
          messages: t.Array(Message),
          deleted: t.Array(t.Object({ type: t.Union([t.Literal('conversation'), t.Literal('message')]), id: t.String() })),
          cursor: t.String(),
          hasMore: t.Boolean(),
        }),
      },
      detail: { summary: 'Changes since a cursor (delta sync)' },
    })
}
