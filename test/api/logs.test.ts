/** A scan of everything the runtime logs: no password, password hash, token, title or message content may appear. */
import { expect, test } from 'bun:test'
import type { DatabaseKind } from '../helpers/runtime.ts'
import { createLogger } from '../../core/observability/logger.ts'
import { client, describeEachDatabase } from '../helpers/runtime.ts'

const captured: Record<DatabaseKind, string[]> = { pglite: [], postgres: [] }
const capture = (kind: DatabaseKind) => createLogger('debug', { write: (line: string) => void captured[kind].push(line) })

describeEachDatabase(
  'logs',
  (rt, kind) => {
    const api = client(rt)
    const marker = crypto.randomUUID().slice(0, 8)
    const secrets = {
      password: `pw-${marker}-correct-horse`,
      email: `logscan-${marker}@example.com`,
      title: `title-${marker}`,
      content: `content-${marker}`,
      gateway: `gateway-${marker}`,
      stored: `stored-${marker}`,
    }
    const scan = (extra: string[]) => {
      const text = captured[kind].join('')
      expect(captured[kind].length).toBeGreaterThan(5)
      for (const s of [...Object.values(secrets), ...extra]) expect(text).not.toContain(s)
      expect(text).not.toContain('$argon2')
    }

    test('a day of requests, failures included, leaves no secret and no user content in the logs', async () => {
      const reg = await api.post('/v1/auth/register', { email: secrets.email, password: secrets.password })
      expect(reg.status).toBe(201)
      const token = reg.body.token as string
      expect((await api.post('/v1/auth/register', { email: secrets.email, password: secrets.password })).status).toBe(409)
      expect((await api.post('/v1/auth/login', { email: secrets.email, password: `${secrets.password}-wrong` })).status).toBe(401)
      expect((await api.post('/v1/auth/login', { email: secrets.email, password: 1234 })).status).toBe(400)
      const conv = (await api.post('/v1/conversations', { title: secrets.title }, token)).body.id as string
      expect((await api.patch(`/v1/conversations/${conv}`, { title: `${secrets.title}\u0000` }, token)).status).toBe(400)
      const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: secrets.content }, token)
      expect(sent.status).toBe(202)
      await api.call('GET', `/v1/jobs/${sent.body.job.id}/events`, { token })
      expect((await api.get('/v1/sync', token)).status).toBe(200)
      const g = await rt().app.handle(
        new Request('http://localhost/v1/messages', {
          method: 'POST',
          headers: { 'x-api-key': token, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', max_tokens: 20, messages: [{ role: 'user', content: secrets.gateway }] }),
        }),
      )
      expect(g.status).toBe(200)
      await g.text()

      // A database error whose query carried user content, logged the way the error handlers do.
      const user = reg.body.user.id as string
      const err = await rt()
        .deps.conversations.addMessage(user, conv, { role: 'user', content: `${secrets.stored}\u0000` })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      rt().logger.error({ err, reqId: 'r1' }, 'unhandled error')
      await Bun.sleep(50)
      scan([token])
      // What is logged instead: the SQL text.
      const logged = captured[kind].map((l) => JSON.parse(l)).find((l) => l.reqId === 'r1')
      expect(logged.err.sql).toContain('insert into messages')
    })
  },
  { logging: { level: 'debug', requests: true }, llm: { fakeTokenDelay: 0 }, anonymous: { requestsPerMinute: 1000 } },
  capture,
)
