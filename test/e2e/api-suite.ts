/**
 * The HTTP API end to end on a real port, as a suite run against each runtime: Bun in
 * process (api.test.ts) and Deno started with `deno task start` (test/deno/). Accounts,
 * conversations (DELETE included), the body limit (Content-Length and chunked), a chat turn
 * over SSE with resume, delta sync, the gateway through the official SDK, and the client
 * address the per-address limit keys on. The runtime runs with fixtures/e2e.ts.
 */
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { request as httpRequest } from 'node:http'
import { fakeReplyWords } from '../../core/llm/fake.ts'
import { client, HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { parseSse, readSse } from '../helpers/sse.ts'
import type { Target } from './ws-suite.ts'

const BODY_LIMIT = 16 * 1024

const fakeReply = (said: string) => fakeReplyWords({ messages: [{ role: 'user', content: said }], maxTokens: 1 }).join(' ')

/** Register from a given local address (127.0.0.x are all loopback); returns the RateLimit-Remaining it got. */
function registerFromAddress(base: string, localAddress: string): Promise<number> {
  const url = new URL(`${base}/v1/auth/register`)
  const body = JSON.stringify({ email: `peer${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'correct horse battery' })
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          res.statusCode === 201 ? resolve(Number(res.headers['ratelimit-remaining'])) : reject(new Error(`register: ${res.statusCode}`)),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export function apiSuite(label: string, start: () => Promise<Target>) {
  describe(`HTTP API end to end [${label}]`, () => {
    let target: Target | undefined
    const base = () => target!.base
    const api = client(base)
    beforeAll(async () => {
      target = await start()
    }, HOOK_TIMEOUT)
    afterAll(() => target?.stop(), HOOK_TIMEOUT)

    test('register, log in, me; without a token, 401 in the error shape', async () => {
      const { email, token } = await api.user()
      const login = await api.post('/v1/auth/login', { email, password: 'correct horse battery' })
      expect(login.status).toBe(200)
      expect((await api.get('/v1/me', login.body.token)).body).toMatchObject({ email, tier: 'free' })
      expect((await api.get('/v1/me', token)).status).toBe(200)
      const anonymous = await api.get('/v1/me')
      expect(anonymous.status).toBe(401)
      expect(anonymous.body.error.code).toBe('UNAUTHORIZED')
    })

    test('conversations: create, rename, list; DELETE answers 204 with no body, then the conversation is 404', async () => {
      const { token } = await api.user()
      const conv = await api.post('/v1/conversations', { title: 'first' }, token)
      expect(conv.status).toBe(201)
      expect((await api.patch(`/v1/conversations/${conv.body.id}`, { title: 'renamed' }, token)).body.title).toBe('renamed')
      expect((await api.get('/v1/conversations', token)).body.items.map((c: { id: string }) => c.id)).toEqual([conv.body.id])
      const del = await fetch(`${base()}/v1/conversations/${conv.body.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(del.status).toBe(204)
      expect(await del.text()).toBe('')
      expect((await api.get(`/v1/conversations/${conv.body.id}`, token)).status).toBe(404)
    })

    test('a body over the limit is 413 PAYLOAD_TOO_LARGE, by Content-Length and chunked', async () => {
      const raw = JSON.stringify({ email: 'x'.repeat(BODY_LIMIT * 2), password: 'correct horse battery' })
      const declared = await api.call('POST', '/v1/auth/register', { raw, headers: { 'content-type': 'application/json' } })
      expect(declared.status).toBe(413)
      expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE')
      const chunked = new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode(raw.slice(i * BODY_LIMIT, (i + 1) * BODY_LIMIT)))
          c.enqueue(new TextEncoder().encode(raw.slice(4 * BODY_LIMIT)))
          c.close()
        },
      })
      const r = await fetch(`${base()}/v1/auth/register`, {
        method: 'POST',
        body: chunked,
        headers: { 'content-type': 'application/json' },
      })
      expect(r.headers.get('content-length')).not.toBe(String(raw.length))
      expect(r.status).toBe(413)
      expect((await r.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    })

    test('a chat turn over SSE: deltas with seq 1..n, then done; the events resume after Last-Event-ID; sync sees both messages', async () => {
      const { token } = await api.user()
      const conv = (await api.post('/v1/conversations', {}, token)).body.id
      const res = await fetch(`${base()}/v1/conversations/${conv}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ content: 'hello from the suite' }),
      })
      expect(res.headers.get('content-type')).toStartWith('text/event-stream')
      const events = (await readSse(res)).map((e) => e.data)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
      const done = events.at(-1)!
      expect(done.type).toBe('done')
      const text = events
        .filter((e) => e.type === 'delta')
        .map((e) => e.text)
        .join('')
      expect(text).toBe(fakeReply('hello from the suite'))

      const resumed = await fetch(`${base()}/v1/jobs/${done.jobId}/events`, {
        headers: { authorization: `Bearer ${token}`, 'last-event-id': '3' },
      })
      expect(parseSse(await resumed.text()).map((e) => e.data.seq)).toEqual(events.slice(3).map((e) => e.seq))

      const sync = await api.get('/v1/sync', token)
      expect(sync.body.messages.map((m: { role: string }) => m.role).sort()).toEqual(['assistant', 'user'])
      expect(sync.body.messages.find((m: { role: string }) => m.role === 'assistant').content).toBe(text)
      expect((await api.get(`/v1/sync?cursor=${encodeURIComponent(sync.body.cursor)}`, token)).body.messages).toEqual([])
    })

    test('the gateway through the official SDK: a message, and a stream whose text adds up to it', async () => {
      const { token } = await api.user()
      const sdk = new Anthropic({ apiKey: token, baseURL: base(), maxRetries: 0 })
      const ask = { model: 'claude-test', max_tokens: 256, messages: [{ role: 'user' as const, content: 'gateway hello' }] }
      const msg = await sdk.messages.create(ask)
      expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text: fakeReply('gateway hello') })])
      const texts: string[] = []
      const stream = sdk.messages.stream(ask)
      stream.on('text', (t) => texts.push(t))
      await stream.finalMessage()
      expect(texts.join('')).toBe(fakeReply('gateway hello'))
      const refused = await new Anthropic({ apiKey: 'nope', baseURL: base(), maxRetries: 0 }).messages.create(ask).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(Anthropic.AuthenticationError)
    })

    test('the per-address limit keys on the socket peer: 127.0.0.2 and 127.0.0.3 are counted apart', async () => {
      const a1 = await registerFromAddress(base(), '127.0.0.2')
      const a2 = await registerFromAddress(base(), '127.0.0.2')
      const b1 = await registerFromAddress(base(), '127.0.0.3')
      expect(a2).toBe(a1 - 1)
      expect(b1).toBe(a1)
    })
  })
}
