/** Request and answer shapes more than one route module uses. */
import { t } from 'elysia'

export const Conversation = t.Object({ id: t.String(), title: t.String(), createdAt: t.String(), updatedAt: t.String() })
export const Message = t.Object({
  id: t.String(),
  conversationId: t.String(),
  role: t.Union([t.Literal('user'), t.Literal('assistant')]),
  content: t.String(),
  createdAt: t.String(),
})
export const IdParams = t.Object({ id: t.String({ format: 'uuid', description: 'a conversation id (UUID)' }) })
