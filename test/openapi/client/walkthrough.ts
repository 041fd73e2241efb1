/**
 * The README's walk-through, written against the client generated from `/v1/openapi.json`
 * (openapi-typescript types, openapi-fetch calls). The test copies this file next to the
 * generated `api.d.ts`, type-checks both with tsc, then runs it against a live runtime.
 */
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './api.d.ts'

export interface Seen {
  method: string
  /** The document's path template, e.g. `/v1/conversations/{id}`. */
  path: string
  status: number
  contentType: string
  body: unknown
}

export async function walkthrough(baseUrl: string): Promise<Seen[]> {
  const seen: Seen[] = []
  const record: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const contentType = response.headers.get('content-type') ?? ''
      const text = await response.clone().text()
      seen.push({
        method: request.method.toLowerCase(),
        path: schemaPath,
        status: response.status,
        contentType,
        body: contentType.includes('json') && text ? JSON.parse(text) : text,
      })
    },
  }
  const client = createClient<paths>({ baseUrl })
  client.use(record)
  const must = <T>(r: { data?: T; error?: unknown; response: Response }): T => {
    if (r.data === undefined) throw new Error(`${r.response.url} answered ${r.response.status}: ${JSON.stringify(r.error)}`)
    return r.data
  }

  // register, then log in with the same body
  const email = `client-${crypto.randomUUID().slice(0, 8)}@example.com`
  const credentials = { email, password: 'correct horse battery' }
  const registered = must(await client.POST('/v1/auth/register', { body: credentials }))
  const login = must(await client.POST('/v1/auth/login', { body: credentials }))
  if (registered.user.id !== login.user.id) throw new Error('login answered another user')
  const auth = { headers: { authorization: `Bearer ${login.token}` } }

  const me = must(await client.GET('/v1/me', auth))
  const tier: 'free' | 'paid' = me.tier

  // a conversation, the list, and delta sync with the cursor it returns
  const conversation = must(await client.POST('/v1/conversations', { ...auth, body: { title: 'first' } }))
  const list = must(await client.GET('/v1/conversations', { ...auth, params: { query: { limit: 20 } } }))
  const next: string | null = list.nextCursor
  const sync = must(await client.GET('/v1/sync', auth))
  must(await client.GET('/v1/sync', { ...auth, params: { query: { cursor: sync.cursor } } }))

  // a chat turn: 202 with the job, then the job until it is done, then the messages
  const id = conversation.id
  const answer = must(
    await client.POST('/v1/conversations/{id}/messages', { ...auth, params: { path: { id } }, body: { content: 'Hello!' } }),
  )
  // The same operation streams (200, text/event-stream) when asked to; without that header it is the 202 JSON.
  if (typeof answer === 'string') throw new Error('expected the 202 answer, got a stream')
  const sent = answer
  let job = must(await client.GET('/v1/jobs/{id}', { ...auth, params: { path: { id: sent.job.id } } }))
  for (let i = 0; i < 200 && (job.status === 'queued' || job.status === 'running'); i++) {
    await new Promise((r) => setTimeout(r, 50))
    job = must(await client.GET('/v1/jobs/{id}', { ...auth, params: { path: { id: sent.job.id } } }))
  }
  if (job.status !== 'done') throw new Error(`the reply ended ${job.status}`)
  const messages = must(await client.GET('/v1/conversations/{id}/messages', { ...auth, params: { path: { id } } }))
  if (!messages.items.some((m) => m.id === job.messageId && m.role === 'assistant')) throw new Error('the reply is not in the messages')

  // rename, read, cancel (a finished job), delete; then the errors a client must handle
  must(await client.PATCH('/v1/conversations/{id}', { ...auth, params: { path: { id } }, body: { title: 'renamed' } }))
  must(await client.GET('/v1/conversations/{id}', { ...auth, params: { path: { id } } }))
  await client.POST('/v1/jobs/{id}/cancel', { ...auth, params: { path: { id: sent.job.id } } })
  await client.DELETE('/v1/conversations/{id}', { ...auth, params: { path: { id } } })
  const gone = await client.GET('/v1/conversations/{id}', { ...auth, params: { path: { id } } })
  if (gone.response.status !== 404 || gone.error?.error.code !== 'NOT_FOUND') throw new Error('a deleted conversation is still there')
  const wrong = await client.POST('/v1/auth/login', { body: { email, password: 'not the password' } })
  if (wrong.response.status !== 401) throw new Error('a wrong password was accepted')
  const invalid = await client.POST('/v1/conversations', { ...auth, body: { title: 'x'.repeat(201) } })
  if (invalid.response.status !== 400) throw new Error('a title over 200 characters was accepted')
  ;(void tier, next)
  return seen
}
