/**
 * The acceptance suite: what a client depends on, over real HTTP and WebSocket against a
 * target URL, and nothing else. It runs unchanged against one embedded instance
 * (embedded.test.ts) and against the cluster through nginx (cluster.test.ts).
 *
 * Every registration counts against the per-address limit (60 a minute), and every client
 * here has the same address, so the suite registers few users.
 */
import Anthropic from '@anthropic-ai/sdk'
import { beforeAll, describe, expect, test } from 'bun:test'
import { readSse } from '../helpers/sse.ts'
import { wsClient } from '../helpers/ws-client.ts'

export interface Target {
  /** `http://127.0.0.1:<port>` */
  url: string
}

export interface Session {
  token: string
  id: string
  email: string
}

/** A small JSON client for a target. */
export function http(target: () => Target) {
  async function call(method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers }
    if (token) h.authorization = `Bearer ${token}`
    if (body !== undefined) h['content-type'] = 'application/json'
    const res = await fetch(`${target().url}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    let parsed: any = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed }
  }
  return {
    call,
    async register(): Promise<Session> {
      const email = `a${crypto.randomUUID().slice(0, 8)}@example.com`
      const r = await call('POST', '/v1/auth/register', { email, password: 'correct horse battery' })
      if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`)
      return { token: r.body.token, id: r.body.user.id, email }
    },
    async conversation(token: string, title = 'c'): Promise<string> {
      const r = await call('POST', '/v1/conversations', { title }, token)
      if (r.status !== 201) throw new Error(`create conversation: ${r.status} ${JSON.stringify(r.body)}`)
      return r.body.id
    },
  }
}

const expectError = (r: { status: number; body: any }, status: number, code: string) => {
  expect(r.status).toBe(status)
  expect(r.body).toEqual({ error: { code, message: expect.any(String) } })
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ')

export function acceptanceSuite(name: string, target: () => Target) {
  const api = http(target)

  describe(`${name}: auth`, () => {
    test('register, log in, /v1/me; a wrong password and a missing token are 401 in the error shape', async () => {
      const u = await api.register()
      const login = await api.call('POST', '/v1/auth/login', { email: u.email, password: 'correct horse battery' })
      expect(login.status).toBe(200)
      expect(login.body.user).toEqual({ id: u.id, email: u.email, tier: 'free' })
      const me = await api.call('GET', '/v1/me', undefined, login.body.token)
      expect(me.body).toEqual({ id: u.id, email: u.email, tier: 'free' })
      expectError(await api.call('POST', '/v1/auth/login', { email: u.email, password: 'wrong password!' }), 401, 'UNAUTHORIZED')
      expectError(await api.call('GET', '/v1/me'), 401, 'UNAUTHORIZED')
      expectError(
        await api.call('POST', '/v1/auth/register', { email: 'x@example.com', password: 'long enough', tier: 'paid' }),
        400,
        'VALIDATION_FAILED',
      )
    })
  })

  describe(`${name}: conversations, sync, errors`, () => {
    let u: Session
    beforeAll(async () => {
      u = await api.register()
    })

    test('create, paginate newest first, read, rename, delete; another user sees 404', async () => {
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push(await api.conversation(u.token, `t${i}`))
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
        const page = await api.call('GET', `/v1/conversations?limit=2${q}`, undefined, u.token)
        expect(page.status).toBe(200)
        expect(page.body.items.length).toBeLessThanOrEqual(2)
        seen.push(...page.body.items.map((c: { id: string }) => c.id))
        cursor = page.body.nextCursor
      } while (cursor)
      expect(seen).toEqual([...ids].reverse())

      const patched = await api.call('PATCH', `/v1/conversations/${ids[0]}`, { title: 'renamed' }, u.token)
      expect(patched.body.title).toBe('renamed')
      expect((await api.call('GET', `/v1/conversations/${ids[0]}`, undefined, u.token)).body.title).toBe('renamed')
      const other = await api.register()
      expectError(await api.call('GET', `/v1/conversations/${ids[0]}`, undefined, other.token), 404, 'NOT_FOUND')
      expect((await api.call('DELETE', `/v1/conversations/${ids[0]}`, undefined, u.token)).status).toBe(204)
      expectError(await api.call('GET', `/v1/conversations/${ids[0]}`, undefined, u.token), 404, 'NOT_FOUND')
    })

    test('delta sync: a later response has what changed since, deletions included', async () => {
      const first = await api.call('GET', '/v1/sync', undefined, u.token)
      expect(first.status).toBe(200)
      let cursor = first.body.cursor
      for (let more = first.body.hasMore; more;) {
        const r = await api.call('GET', `/v1/sync?cursor=${encodeURIComponent(cursor)}`, undefined, u.token)
        cursor = r.body.cursor
        more = r.body.hasMore
      }
      const added = await api.conversation(u.token, 'synced')
      const gone = await api.conversation(u.token, 'to delete')
      await api.call('DELETE', `/v1/conversations/${gone}`, undefined, u.token)
      const changes = { conversations: [] as string[], deleted: [] as string[] }
      for (let i = 0; i < 20 && !(changes.conversations.includes(added) && changes.deleted.includes(gone)); i++) {
        const r = await api.call('GET', `/v1/sync?cursor=${encodeURIComponent(cursor)}`, undefined, u.token)
        expect(r.status).toBe(200)
        changes.conversations.push(...r.body.conversations.map((c: { id: string }) => c.id))
        changes.deleted.push(...r.body.deleted.map((d: { id: string }) => d.id))
        cursor = r.body.cursor
        if (!r.body.hasMore) await Bun.sleep(100)
      }
      expect(changes.conversations).toContain(added)
      expect(changes.deleted).toContain(gone)
    })

    test('unknown ids, bad ids and unknown routes answer in the error shape', async () => {
      expectError(await api.call('GET', `/v1/conversations/${crypto.randomUUID()}`, undefined, u.token), 404, 'NOT_FOUND')
      expect((await api.call('GET', '/v1/conversations/not-a-uuid', undefined, u.token)).status).toBeOneOf([400, 404])
      expectError(await api.call('POST', '/v1/conversations', { title: 5 }, u.token), 400, 'VALIDATION_FAILED')
    })
  })

  describe(`${name}: chat`, () => {
    let u: Session
    beforeAll(async () => {
      u = await api.register()
    })

    test('a turn over SSE: seq 1..n without gaps, done last, the reply stored once', async () => {
      const conv = await api.conversation(u.token)
      const res = await fetch(`${target().url}/v1/conversations/${conv}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ content: 'hello over sse' }),
      })
      expect(res.status).toBe(200)
      const events = (await readSse(res)).map((e) => e.data)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
      const done = events.at(-1)
      expect(done.type).toBe('done')
      const msgs = await api.call('GET', `/v1/conversations/${conv}/messages`, undefined, u.token)
      expect(msgs.body.items.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant'])
      expect(msgs.body.items[1].id).toBe(done.messageId)
      expect(msgs.body.items[1].content).toBe(
        events
          .filter((e) => e.type === 'delta')
          .map((e) => e.text)
          .join(''),
      )
    })

    test('a turn over WebSocket, cut off and resumed on a new socket: no gap, no duplicate', async () => {
      const conv = await api.conversation(u.token)
      const wsUrl = `${target().url.replace(/^http/, 'ws')}/v1/ws?token=${u.token}`
      const a = wsClient(wsUrl)
      await a.opened
      a.send({ type: 'send', conversationId: conv, content: words(40), clientId: 'k1' })
      const { jobId } = await a.next((f) => f.type === 'accepted')
      await a.next((f) => f.jobId === jobId && f.seq === 3)
      a.ws.close()
      const have = a.jobEvents(jobId).filter((e) => e.seq <= 3)
      const b = wsClient(wsUrl)
      await b.opened
      b.send({ type: 'resume', jobId, afterSeq: 3 })
      await b.next((f) => f.jobId === jobId && (f.type === 'done' || f.type === 'error'))
      const all = [...have, ...b.jobEvents(jobId)]
      expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1))
      expect(all.at(-1)!.type).toBe('done')
      b.ws.close()
    })

    test('the gateway with the official SDK: create and stream', async () => {
      const claude = new Anthropic({ apiKey: u.token, baseURL: target().url, maxRetries: 0 })
      const msg = await claude.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hi gateway' }],
      })
      expect(msg.type).toBe('message')
      expect(msg.content[0]?.type).toBe('text')
      const stream = claude.messages.stream({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'stream please' }],
      })
      let text = ''
      stream.on('text', (t) => (text += t))
      const final = await stream.finalMessage()
      expect(text.length).toBeGreaterThan(0)
      expect(final.content[0]).toMatchObject({ type: 'text', text })
    })
  })

  describe(`${name}: limits`, () => {
    test('a free user gets exactly 20 chat sends a minute, then 429 with Retry-After', async () => {
      const u = await api.register()
      const convs: string[] = []
      for (let i = 0; i < 24; i++) convs.push(await api.conversation(u.token, `l${i}`))
      const results = await Promise.all(convs.map((c) => api.call('POST', `/v1/conversations/${c}/messages`, { content: 'hi' }, u.token)))
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 202)).toHaveLength(20)
      const limited = results.filter((r) => r.status === 429)
      expect(limited).toHaveLength(4)
      for (const r of limited) {
        expect(r.body.error.code).toBe('RATE_LIMITED')
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
      }
    })
  })
}
