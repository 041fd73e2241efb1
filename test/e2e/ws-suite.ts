/**
 * The chat over WebSocket on a real port, as a suite run against each runtime: Bun in
 * process (ws.test.ts) and Deno started with `deno task start` (test/deno/). The runtime
 * runs with fixtures/e2e.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { client, HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { type Frame, wsClient } from '../helpers/ws-client.ts'

/** A runtime serving on a port: its `http://127.0.0.1:<port>`, and how to stop it. */
export interface Target {
  base: string
  stop(): Promise<unknown>
}

/** The config both suites run with, as a file for `SCALE_CONFIG`. */
export const E2E_CONFIG = new URL('./fixtures/e2e.ts', import.meta.url).pathname

export function wsSuite(label: string, start: () => Promise<Target>) {
  describe(`WebSocket /v1/ws [${label}]`, () => {
    let target: Target | undefined
    let base: string
    const api = client(() => target!.base)
    beforeAll(async () => {
      target = await start()
      base = `${target.base.replace('http://', 'ws://')}/v1/ws`
    }, HOOK_TIMEOUT)
    afterAll(() => target?.stop(), HOOK_TIMEOUT)

    const userWithConversation = async () => {
      const u = await api.user()
      const conv = (await api.post('/v1/conversations', {}, u.token)).body.id as string
      return { ...u, conv }
    }
    const stored = async (conv: string, token: string) =>
      (await api.get(`/v1/conversations/${conv}/messages`, token)).body.items as { role: string; content: string; id: string }[]

    test('send → accepted → deltas → done; the stored reply equals the deltas', async () => {
      const u = await userWithConversation()
      const c = wsClient(`${base}?token=${u.token}`)
      await c.opened
      c.send({ type: 'send', conversationId: u.conv, content: 'hello socket', clientId: 'c1' })
      const accepted = { ...(await c.next((f) => f.type === 'accepted')) }
      expect(accepted.clientId).toBe('c1')
      expect(accepted.jobId).toMatch(/^[0-9a-f-]{36}$/)
      expect(accepted.messageId).toMatch(/^[0-9a-f-]{36}$/)
      const done = await c.next((f) => f.type === 'done' && f.jobId === accepted.jobId)
      const events = c.jobEvents(accepted.jobId)
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
      const text = events
        .filter((e) => e.type === 'delta')
        .map((e) => e.text)
        .join('')
      const messages = await stored(u.conv, u.token)
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant'])
      expect(messages[1]!.content).toBe(text)
      expect(messages[1]!.id).toBe(done.messageId)
      c.ws.close()
    })

    test('the token can come as a subprotocol; the server echoes "bearer"', async () => {
      const u = await api.user()
      const c = wsClient(base, ['bearer', u.token])
      await c.opened
      expect(c.ws.protocol).toBe('bearer')
      c.send({ type: 'ping' })
      await c.next((f) => f.type === 'pong')
      c.ws.close()
    })

    test('refused before the upgrade: no token, a bad token, an origin not allowed', async () => {
      const u = await api.user()
      const http = base.replace('ws://', 'http://')
      const upgrade = {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      }
      expect((await fetch(http, { headers: upgrade })).status).toBe(401)
      expect((await fetch(`${http}?token=nope`, { headers: upgrade })).status).toBe(401)
      expect((await fetch(`${http}?token=${u.token}`, { headers: { ...upgrade, origin: 'https://evil.example' } })).status).toBe(403)
      const ok = wsClient(`${base}?token=${u.token}`)
      await ok.opened
      ok.ws.close()
    })

    test('disconnect mid-stream, resume on a new socket after the last seq: no gap, no duplicate', async () => {
      const u = await userWithConversation()
      const a = wsClient(`${base}?token=${u.token}`)
      await a.opened
      a.send({ type: 'send', conversationId: u.conv, content: 'tell me a long story about sockets' })
      const { jobId } = await a.next((f) => f.type === 'accepted')
      await a.next((f) => f.jobId === jobId && f.seq === 3)
      a.ws.close()
      await a.closed()
      const seen = a.jobEvents(jobId)
      const last = seen.at(-1)!.seq
      const b = wsClient(`${base}?token=${u.token}`)
      await b.opened
      b.send({ type: 'resume', jobId, afterSeq: last })
      await b.next((f) => f.jobId === jobId && f.type === 'done')
      const all = [...seen, ...b.jobEvents(jobId)]
      expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1))
      const text = all
        .filter((e) => e.type === 'delta')
        .map((e) => e.text)
        .join('')
      expect((await stored(u.conv, u.token))[1]!.content).toBe(text)
      b.ws.close()
    })

    test('cancel stops the reply; a concurrent send is a CONFLICT error frame', async () => {
      const u = await userWithConversation()
      const c = wsClient(`${base}?token=${u.token}`)
      await c.opened
      c.send({ type: 'send', conversationId: u.conv, content: 'first', clientId: 'a' })
      const { jobId } = await c.next((f) => f.type === 'accepted')
      c.send({ type: 'send', conversationId: u.conv, content: 'second', clientId: 'b' })
      expect(await c.next((f) => f.type === 'error' && f.clientId === 'b')).toMatchObject({ code: 'CONFLICT' })
      c.send({ type: 'cancel', jobId })
      expect(await c.next((f) => f.jobId === jobId && f.type === 'error')).toMatchObject({ code: 'CANCELLED' })
      expect((await api.get(`/v1/jobs/${jobId}`, u.token)).body.status).toBe('cancelled')
      expect((await stored(u.conv, u.token)).map((m) => m.role)).toEqual(['user'])
      c.ws.close()
    })

    test('send frames count against the chat limit: a rate_limited frame, and the socket stays open', async () => {
      const u = await api.user()
      const c = wsClient(`${base}?token=${u.token}`)
      await c.opened
      for (let i = 0; i < 7; i++) {
        const conv = (await api.post('/v1/conversations', {}, u.token)).body.id
        c.send({ type: 'send', conversationId: conv, content: `hi ${i}`, clientId: `r${i}` })
        await c.next((f) => f.clientId === `r${i}`)
      }
      const limited = c.frames.filter((f) => f.type === 'rate_limited')
      expect(limited).toHaveLength(1)
      expect(limited[0]!.clientId).toBe('r6')
      expect(limited[0]!.retryAfterMs).toBeGreaterThan(0)
      c.send({ type: 'ping' })
      await c.next((f) => f.type === 'pong')
      c.ws.close()
    })

    test('bad frames get an error frame, never a crash; an over-size frame closes with 1009', async () => {
      const u = await userWithConversation()
      const other = await userWithConversation()
      const c = wsClient(`${base}?token=${u.token}`)
      await c.opened
      const bad = [
        'not json',
        '[1,2]',
        JSON.stringify({ type: 'dance' }),
        JSON.stringify({ type: 'send', conversationId: u.conv }),
        JSON.stringify({ type: 'resume', jobId: 'x', afterSeq: -1 }),
      ]
      for (const f of bad) c.send(f)
      const errors = await new Promise<Frame[]>((resolve) => {
        const check = () =>
          c.frames.filter((f) => f.type === 'error').length >= bad.length
            ? resolve(c.frames.filter((f) => f.type === 'error'))
            : setTimeout(check, 10)
        check()
      })
      expect(errors.map((e) => e.code)).toEqual(bad.map(() => 'VALIDATION_FAILED'))

      // Another user's job: an error frame, the same as an unknown one.
      const o = wsClient(`${base}?token=${other.token}`)
      await o.opened
      o.send({ type: 'send', conversationId: other.conv, content: 'private' })
      const { jobId } = await o.next((f) => f.type === 'accepted')
      c.send({ type: 'resume', jobId, afterSeq: 0 })
      expect(await c.next((f) => f.type === 'error' && f.jobId === jobId)).toMatchObject({ code: 'NOT_FOUND' })
      expect(c.jobEvents(jobId)).toEqual([])

      c.send({ type: 'send', conversationId: u.conv, content: 'x'.repeat(10_000) })
      expect((await c.closed()).code).toBe(1009)
      o.ws.close()
    })
  })
}
